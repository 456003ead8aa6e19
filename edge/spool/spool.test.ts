// When no region can take an upload: it is spooled (202 {spooled: true}) to the queue, or to R2
// when too large for a message, and the queue consumer delivers it once a region is back, with
// backoff while none is, and exactly once however often the message is redelivered. The real
// SPOOL queue and the Worker's own consumer are exercised too.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RoutedRegion } from "../../shared/regions.ts";
import { createEdgeApp } from "../app.ts";
import {
  callWith,
  errorOf,
  getWithKey,
  newApp,
  received,
  recordingQueue,
  regionsOf,
  sampleUpload,
  setMode,
  spawnRegion,
  unrevokedServices,
} from "../testing/helpers.ts";
import { createQueueHandler, retryDelaySeconds } from "./consumer.ts";
import type { SpoolMessage } from "./spool.ts";

/** Nothing revoked, no breaker memory between calls: each delivery sees the regions as they are. */
const services = unrevokedServices({ cooldownMs: 0, healthCacheMs: 0 });
const spoolingApp = createEdgeApp(services);
const queue = createQueueHandler(services);

async function upload(regions: readonly RoutedRegion[], bindings: object, lines = 2, textBytes = 10) {
  const keys = await newApp();
  const batch = sampleUpload(lines);
  for (const line of batch.logs) line.text = line.text.padEnd(textBytes, "x");
  const response = await callWith(
    { regions, env: bindings },
    "/v1/batches",
    {
      method: "POST",
      headers: { authorization: `Bearer ${keys.ingest}`, "content-type": "application/json" },
      body: JSON.stringify(batch),
    },
    spoolingApp,
  );
  return { response, keys, batch };
}

async function consume(regions: readonly RoutedRegion[], message: SpoolMessage, attempts: number) {
  const batch = createMessageBatch<SpoolMessage>("stormlog-spool", [
    { id: `msg-${message.batchId}`, timestamp: new Date(), attempts, body: message },
  ]);
  const ctx = createExecutionContext();
  await queue(batch as MessageBatch<unknown>, { ...env, REGIONS: JSON.stringify(regions) } as Env, ctx);
  return getQueueResult(batch, ctx);
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** The consumer's log events for this batch (the test pool does not record retry delays). */
function deliveryEvents(log: { mock: { calls: unknown[][] } }, batchId: string) {
  return log.mock.calls
    .map(([line]) => JSON.parse(String(line)) as { event: string; batchId: string })
    .filter((event) => event.event === "spool-delivery" && event.batchId === batchId);
}

describe("spooling uploads no region can take", () => {
  it("spools, retries with backoff while regions are down, delivers once one returns, exactly once", async () => {
    const regions = [await spawnRegion("a"), await spawnRegion("b")];
    await Promise.all(regions.map((region) => setMode(region, "broken")));
    const spool = recordingQueue();
    const { response, keys, batch } = await upload(regions, { SPOOL: spool.producer });
    expect(response.status).toBe(202);
    expect(response.headers.get("X-Stormlog-Region")).toBeNull();
    expect(await response.json()).toEqual({ spooled: true, batchId: batch.batchId });
    expect(spool.sent).toHaveLength(1);
    const message = spool.sent[0] as SpoolMessage;
    expect(message).toMatchObject({ v: 2, appId: keys.appId, batchId: batch.batchId });

    const log = vi.spyOn(console, "log");
    const stillDown = await consume(regions, message, 1);
    expect(stillDown.explicitAcks).toEqual([]);
    expect(stillDown.retryMessages).toEqual([{ msgId: `msg-${batch.batchId}` }]);
    expect((await consume(regions, message, 4)).retryMessages).toHaveLength(1);
    expect(deliveryEvents(log, batch.batchId)).toMatchObject([
      { outcome: "retry", attempts: 1, delaySeconds: 10 },
      { outcome: "retry", attempts: 4, delaySeconds: 80 },
    ]);

    await setMode(regions[1] as RoutedRegion, "region");
    const delivered = await consume(regions, message, 5);
    expect(delivered.explicitAcks).toEqual([`msg-${batch.batchId}`]);
    // Redelivered (an ack lost on the way): acknowledged again, stored once.
    expect((await consume(regions, message, 6)).explicitAcks).toEqual([`msg-${batch.batchId}`]);
    expect(deliveryEvents(log, batch.batchId).slice(2)).toMatchObject([
      { outcome: "delivered", region: regions[1]?.name, status: 202, duplicate: false },
      { outcome: "delivered", region: regions[1]?.name, status: 202, duplicate: true },
    ]);

    const read = await callWith(
      { regions: [regions[1] as RoutedRegion] },
      "/v1/logs",
      { headers: { authorization: `Bearer ${keys.read}` } },
      spoolingApp,
    );
    const page = (await read.json()) as { logs: { batchId: string }[] };
    expect(page.logs.map((line) => line.batchId)).toEqual([batch.batchId, batch.batchId]);
  });

  it("backs off exponentially, up to 15 minutes", () => {
    expect([1, 2, 3, 7, 8, 20].map(retryDelaySeconds)).toEqual([10, 20, 40, 640, 900, 900]);
  });

  it("puts a batch too large for a queue message in R2, and deletes it once delivered", async () => {
    const region = await spawnRegion("big");
    await setMode(region, "broken");
    const spool = recordingQueue();
    const { response, keys, batch } = await upload([region], { SPOOL: spool.producer }, 14, 8000);
    expect(response.status).toBe(202);
    const message = spool.sent[0] as SpoolMessage;
    expect(message.sealed).toBeUndefined();
    expect(message.blobKey).toBe(`spool/${keys.appId}/${batch.batchId}.sealed`);
    const blob = await env.SPOOL_BLOBS.get(message.blobKey as string);
    expect((await blob?.text())?.length).toBeGreaterThan(96_000);

    await setMode(region, "region");
    expect((await consume([region], message, 2)).explicitAcks).toHaveLength(1);
    expect((await received(batch.batchId)).filter((call) => call.stub === region.name).at(-1)?.body).toContain(
      "x".repeat(7000),
    );
    expect(await env.SPOOL_BLOBS.get(message.blobKey as string)).toBeNull();
  });

  it("answers 503 when the batch is too large for a message and there is no bucket", async () => {
    const region = await spawnRegion("nobucket");
    await setMode(region, "broken");
    const spool = recordingQueue();
    const { response } = await upload([region], { SPOOL: spool.producer, SPOOL_BLOBS: undefined }, 14, 8000);
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("5");
    expect((await errorOf(response)).message).toContain("too large for a queue message and no spool bucket");
    expect(spool.sent).toEqual([]);
  });

  it("spools through the real queue, and the Worker's consumer delivers to its regions", async () => {
    const region = await spawnRegion("down");
    await setMode(region, "broken");
    const { response, keys, batch } = await upload([region], {});
    expect(response.status).toBe(202);
    // The Worker's own consumer routes with the Worker's REGIONS (the eu-west and us-east stubs).
    const deadline = Date.now() + 10_000;
    let stored = 0;
    while (Date.now() < deadline && stored === 0) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      stored = (await received(batch.batchId)).filter((call) => call.stub === regionsOf.eu.name).length;
    }
    expect(stored).toBe(1);
    const page = (await (await getWithKey("/v1/logs", keys.read)).json()) as { logs: unknown[] };
    expect(page.logs).toHaveLength(2);
  });
});
