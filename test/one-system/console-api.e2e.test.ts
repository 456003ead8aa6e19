/**
 * The console's read API through the real edge into real regions: the device list with counts,
 * a timeline read both ways and around a line, the volume histogram's totals, the live tail
 * picking up a late batch with old timestamps, the regions view, and another app seeing none of it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../regional/admin/cluster.ts";
import {
  type RegionsAnswer,
  regionsAnswerSchema,
  tailPageSchema,
  volumeAnswerSchema,
} from "../../shared/console-api.ts";
import { devicePageSchema, type LogPage, logPageSchema } from "../../shared/read.ts";
import { waitFor } from "../harness.ts";
import { type JoinedSystem, joinSystem } from "./system.ts";

let system: JoinedSystem;
const run = crypto.randomUUID().slice(0, 8);
const deviceId = `console-${run}`;
const baseMs = Date.UTC(2026, 4, 1, 10, 0, 0);
const levels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

beforeAll(async () => {
  system = await joinSystem("console-api");
  // Five batches of 12 lines, a line a second, every level, every third line tagged "net".
  for (let b = 0; b < 5; b++) {
    const logs = Array.from({ length: 12 }, (_, i) => ({
      ts: baseMs + (b * 12 + i) * 1000,
      level: levels[i % levels.length],
      text: `console ${run} line ${b * 12 + i}`,
      ...(i % 3 === 0 ? { tag: "net" } : {}),
    }));
    const response = await upload({ batchId: `${run}-batch-${b}`, device: { id: deviceId, model: "Pixel 9" }, logs });
    expect(response.status).toBe(202);
  }
});

function upload(body: unknown) {
  return fetch(`${system.edgeUrl}/v1/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${system.app.ingestKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function get(pathAndQuery: string, key = system.app.readKey): Promise<unknown> {
  const response = await fetch(`${system.edgeUrl}${pathAndQuery}`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status, `${pathAndQuery}: ${await response.clone().text()}`).toBe(200);
  return response.json();
}
const logs = async (query: string): Promise<LogPage> => logPageSchema.parse(await get(`/v1/logs?${query}`));
const numbers = (page: LogPage) => page.logs.map((line) => Number(line.text.split(" ").at(-1)));

describe("the console's read API through the edge", () => {
  it("lists the device with its lines per level", async () => {
    const page = devicePageSchema.parse(await get(`/v1/devices?q=${deviceId.toUpperCase()}`));
    expect(page.devices.map((device) => device.id)).toEqual([deviceId]);
    expect(page.devices[0]?.counts).toEqual({ trace: 10, debug: 10, info: 10, warn: 10, error: 10, fatal: 10 });
  });

  it("reads the timeline both ways, filtered, and around a line", async () => {
    const device = `device=${deviceId}`;
    expect(numbers(await logs(`${device}&order=desc&limit=5`))).toEqual([59, 58, 57, 56, 55]);
    // Tagged lines are every third; of those, the warn ones are n % 6 === 3 (no error line is tagged).
    const tagged = await logs(`${device}&tag=net&levels=warn,error&limit=100`);
    expect(numbers(tagged)).toEqual([3, 9, 15, 21, 27, 33, 39, 45, 51, 57]);

    const anchor = (await logs(`${device}&limit=31`)).logs[30];
    expect(anchor?.index).toBe(6);
    const around = await logs(`${device}&around=${anchor?.batchId}:${anchor?.index}&limit=10`);
    expect(numbers(around)).toEqual([25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
    expect(numbers(await logs(`${device}&limit=3&cursor=${around.prevCursor}`))).toEqual([24, 23, 22]);
    expect(numbers(await logs(`${device}&limit=3&cursor=${around.nextCursor}`))).toEqual([35, 36, 37]);
  });

  it("counts every uploaded line in the histogram, without decrypting", async () => {
    const answer = volumeAnswerSchema.parse(
      await get(`/v1/stats/volume?device=${deviceId}&from=${baseMs}&to=${baseMs + 60_000}&buckets=6`),
    );
    expect(answer.bucketMs).toBe(10_000);
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    expect(sum(answer.total)).toBe(60);
    expect(answer.buckets.map((bucket) => sum(bucket.counts))).toEqual([12, 12, 12, 12, 12, 0]);
  });

  it("tails a batch uploaded after the cursor, even with old timestamps", async () => {
    const start = tailPageSchema.parse(await get(`/v1/tail?device=${deviceId}`));
    const late = {
      batchId: `${run}-late`,
      device: { id: deviceId },
      logs: [{ ts: baseMs - 86_400_000, level: "warn", text: "late" }],
    };
    expect((await upload(late)).status).toBe(202);
    const startedMs = Date.now();
    let cursor = start.nextCursor;
    const seen = await waitFor(
      "the late line in the tail",
      async () => {
        const page = tailPageSchema.parse(await get(`/v1/tail?device=${deviceId}&after=${cursor}`));
        cursor = page.nextCursor;
        return page.logs.find((line) => line.text === "late") ?? null;
      },
      10_000,
    );
    expect(seen.batchId).toBe(late.batchId);
    expect(Date.now() - startedMs).toBeLessThan(2_000);
  });

  it("shows every region up and, once replication has caught up, their digests agreeing", async () => {
    const answer: RegionsAnswer = await waitFor(
      "regions agreeing",
      async () => {
        const view = regionsAnswerSchema.parse(await get("/v1/regions"));
        return view.digestsAgree ? view : null;
      },
      20_000,
    );
    expect(answer.regions.map((region) => region.name).sort()).toEqual(system.regions.map((r) => r.name).sort());
    expect(answer.regions.every((region) => region.status === "up" && region.batches === 6)).toBe(true);
    expect(system.regions.map((region) => region.name)).toContain(answer.servedBy);
  });

  it("shows another app none of it", async () => {
    const other = await createApp(system.cluster, `console-other-${run}`);
    expect(devicePageSchema.parse(await get(`/v1/devices?q=${deviceId}`, other.readKey)).devices).toEqual([]);
    const volume = volumeAnswerSchema.parse(
      await get(`/v1/stats/volume?from=${baseMs}&to=${baseMs + 60_000}`, other.readKey),
    );
    expect(Object.values(volume.total).every((count) => count === 0)).toBe(true);
    const around = await fetch(`${system.edgeUrl}/v1/logs?around=${run}-batch-0:0`, {
      headers: { authorization: `Bearer ${other.readKey}` },
    });
    expect(around.status).toBe(404);
    const regions = regionsAnswerSchema.parse(await get("/v1/regions", other.readKey));
    expect(regions.regions.every((region) => region.batches === 0)).toBe(true);
  });
});
