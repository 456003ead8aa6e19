// The volume histogram: lines per level per bucket from the batches' clear metadata, a batch
// counted whole in its first line's bucket, windows and bad input.
import { beforeAll, describe, expect, it } from "vitest";
import { type Level, parseBatch } from "../../shared/batch.ts";
import type { VolumeAnswer } from "../../shared/console-api.ts";
import { internalPaths } from "../../shared/regions.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, readKeyFor, signedRequest, testAppId, useTestRegion } from "../testing/harness.ts";

const minute = 60_000;

describe.each(drivers)("GET volume on %s", (kind) => {
  const t = useTestRegion(kind);
  const appId = testAppId();
  let readKey: string;

  beforeAll(async () => {
    readKey = await readKeyFor(t.region, appId);
    const put = async (deviceId: string, startMs: number, levels: Level[]) => {
      const lines = levels.map((level, i) => ({ ts: startMs + i * 1000, level }));
      expect((await t.region.store.put(appId, parseBatch(makeBatch({ deviceId, lines })))).ok).toBe(true);
    };
    await put("a", baseTs, ["info", "info", "error"]);
    await put("a", baseTs + 2 * minute + 59_000, ["warn", "warn"]); // spans into minute 3: counted in minute 2
    await put("b", baseTs + 5 * minute, ["fatal"]);
    await put("b", baseTs - minute, ["debug"]); // before the window
  });

  async function volume(params: Record<string, string | number>, app = appId, key = readKey) {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    return signedRequest(t.region.app, "GET", `${internalPaths.volume(app)}?${query}`, { appKey: key });
  }

  it("counts lines per level per bucket, each batch in its first line's bucket", async () => {
    const response = await volume({ from: baseTs, to: baseTs + 6 * minute, buckets: 6 });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as VolumeAnswer;
    expect(answer.bucketMs).toBe(minute);
    expect(answer.from).toBe(new Date(baseTs).toISOString());
    expect(answer.buckets.map((bucket) => bucket.start)).toEqual(
      [0, 1, 2, 3, 4, 5].map((m) => new Date(baseTs + m * minute).toISOString()),
    );
    const sums = answer.buckets.map((bucket) => Object.values(bucket.counts).reduce((a, b) => a + b, 0));
    expect(sums).toEqual([3, 0, 2, 0, 0, 1]);
    expect(answer.buckets[0]?.counts).toMatchObject({ info: 2, error: 1 });
    expect(answer.total).toEqual({ trace: 0, debug: 0, info: 2, warn: 2, error: 1, fatal: 1 });
  });

  it("narrows to one device", async () => {
    const response = await volume({ from: baseTs - minute, to: baseTs + 6 * minute, buckets: 7, device: "b" });
    const answer = (await response.json()) as VolumeAnswer;
    expect(answer.total).toEqual({ trace: 0, debug: 1, info: 0, warn: 0, error: 0, fatal: 1 });
  });

  it("shows another app nothing", async () => {
    const other = testAppId();
    const response = await volume({ from: baseTs, to: baseTs + 6 * minute }, other, await readKeyFor(t.region, other));
    const answer = (await response.json()) as VolumeAnswer;
    expect(answer.buckets).toHaveLength(60);
    expect(answer.total).toEqual({ trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 });
  });

  it.each([
    ["from after to", { from: baseTs + 1, to: baseTs }, "from"],
    ["no buckets", { buckets: 0 }, "buckets"],
    ["too many buckets", { buckets: 501 }, "buckets"],
    ["a huge number of buckets", { buckets: "1e999" }, "buckets"],
    ["a window past the maximum", { from: Date.UTC(2000, 0, 1), to: Date.UTC(2099, 0, 1) }, "from"],
    ["a bad time", { to: "yesterday" }, "to"],
    ["a NUL in device", { device: "\u0000" }, "device"],
    ["an unknown parameter", { level: "warn" }, "level"],
  ])("refuses %s with 400", async (_name, params, field) => {
    const response = await volume(params);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(field);
  });
});
