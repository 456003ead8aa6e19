// The spool consumer never lets one bad message block or re-trip anything: a batch a region
// rejects (4xx), one every region fails on 3 times, one whose key was revoked since, one that is
// not a spool message or does not open, each goes to the real dead-letter queue with its cause
// and is acknowledged; read back from that queue by testing/dead-letter-inbox.js.
import { describe, expect, it, vi } from "vitest";
import { keyHash } from "../../shared/keys.ts";
import type { RoutedRegion } from "../../shared/regions.ts";
import { createEdgeApp } from "../app.ts";
import { routedServices, type ServicesFactory } from "../context.ts";
import { createRegionClient } from "../region-client.ts";
import { poisonMarker } from "../testing/fixtures.ts";
import {
  deadLetters,
  deliverSpooled,
  eventually,
  newApp,
  received,
  recordingQueue,
  regionsOf,
  revokeAtStubs,
  sampleUpload,
  setMode,
  spawnRegion,
  uploadWith,
} from "../testing/helpers.ts";
import { createQueueHandler, requestFailuresMax } from "./consumer.ts";
import type { SpoolMessage } from "./spool.ts";

/** Routed services with the real revocation list (unless `revoked` replaces it). */
function servicesWith(options: { cooldownMs?: number; revoked?: ReadonlySet<string> | null } = {}): ServicesFactory {
  return (config, bindings) => {
    const services = routedServices(config, bindings, createRegionClient({ edgeSecret: config.edgeSecret }), {
      cooldownMs: options.cooldownMs ?? 0,
      healthCacheMs: 0,
    });
    if (options.revoked === undefined) return services;
    const revoked = options.revoked;
    return { ...services, revocations: { current: async () => revoked } };
  };
}
const spoolingApp = createEdgeApp(servicesWith({ revoked: new Set() }));

/** Uploads `batch` while every region drains, so it is spooled; returns the message. */
async function spooled(regions: readonly RoutedRegion[], key: string, batch = sampleUpload()) {
  await Promise.all(regions.map((region) => setMode(region, "draining")));
  const spool = recordingQueue();
  const response = await uploadWith(spoolingApp, key, batch, { regions, env: { SPOOL: spool.producer } });
  expect(await response.json()).toEqual({ spooled: true, batchId: batch.batchId });
  await Promise.all(regions.map((region) => setMode(region, "region")));
  return spool.sent[0] as SpoolMessage;
}

async function deadLetterOf(batchId: string) {
  const letters = await eventually(async () => {
    const found = await deadLetters(batchId);
    return found.length > 0 ? found : null;
  });
  expect(letters).toHaveLength(1);
  return letters?.[0] as { v: number; cause: string; reason: string; attempts: number; spooled: unknown };
}

const batchPosts = async (batchId: string, region: RoutedRegion) =>
  (await received(batchId)).filter((call) => call.stub === region.name && call.method === "POST").length;

describe("the spool consumer", () => {
  it("dead-letters a batch a region rejects (4xx), through the real queues, still sealed", async () => {
    const keys = await newApp();
    const first = sampleUpload();
    // Both of the Worker's own regions already hold this batch id with other content.
    for (const region of [regionsOf.eu, regionsOf.us]) {
      expect((await uploadWith(spoolingApp, keys.ingest, first, { regions: [region] })).status).toBe(202);
    }
    const marker = `card-${crypto.randomUUID()}`;
    const conflicting = { ...first, logs: [{ ...first.logs[0], text: marker }] };
    const down = await spawnRegion("down");
    await setMode(down, "draining");
    // Spooled to the real SPOOL queue; the Worker's consumer delivers it to eu-west or us-east.
    const response = await uploadWith(spoolingApp, keys.ingest, conflicting, { regions: [down] });
    expect(await response.json()).toEqual({ spooled: true, batchId: first.batchId });

    const dead = await deadLetterOf(first.batchId);
    expect(dead).toMatchObject({
      v: 1,
      cause: "rejected",
      reason: expect.stringMatching(/^region (eu-west|us-east) answered 409 BATCH_CONFLICT$/),
      spooled: { v: 2, appId: keys.appId, batchId: first.batchId, keyHash: await keyHash(keys.ingest) },
    });
    // The message as the real queue carried it: the line is not readable there.
    expect(JSON.stringify(dead)).not.toContain(marker);
  });

  it(`dead-letters a batch every region fails on after ${requestFailuresMax} deliveries, opening no breaker`, async () => {
    const regions = [await spawnRegion("a"), await spawnRegion("b")];
    const keys = await newApp();
    const poison = sampleUpload();
    (poison.logs[0] as { text: string }).text = poisonMarker;
    const poisoned = await spooled(regions, keys.ingest, poison);
    const good = await spooled(regions, keys.ingest);
    const queue = createQueueHandler(servicesWith({ cooldownMs: 60_000, revoked: new Set() }));

    for (let attempts = 1; attempts < requestFailuresMax; attempts++) {
      expect(await deliverSpooled(queue, regions, poisoned, attempts)).toEqual({ acked: false, retried: true });
    }
    expect(await deliverSpooled(queue, regions, poisoned, requestFailuresMax)).toEqual({ acked: true, retried: false });
    expect(await deadLetterOf(poison.batchId)).toMatchObject({
      cause: "internal_error",
      // Routing tries the regions by measured latency, so either may come first.
      reason: expect.stringMatching(
        /^every region that answered failed on it \([\w-]+: answered 500; [\w-]+: answered 500\)$/,
      ),
      attempts: requestFailuresMax,
    });
    const { reason } = (await deadLetterOf(poison.batchId)) as { reason: string };
    for (const region of regions) expect(reason).toContain(`${region.name}: answered 500`);
    // Every region was asked each time (a breaker would have skipped it), and still takes batches:
    // the next one is delivered by one of them, whichever routing ranks first by latency.
    for (const region of regions) expect(await batchPosts(poison.batchId, region)).toBe(requestFailuresMax + 1);
    expect(await deliverSpooled(queue, regions, good, 1)).toEqual({ acked: true, retried: false });
    const goodPosts = await Promise.all(regions.map((region) => batchPosts(good.batchId, region)));
    expect(goodPosts.sort()).toEqual([1, 2]);
  });

  it("re-checks the key: a batch whose key was revoked since is dead-lettered, never delivered", async () => {
    const region = await spawnRegion("revoking");
    const keys = await newApp();
    const message = await spooled([region], keys.ingest);
    // The message carries the key's hash, never the key.
    expect(message.keyHash).toBe(await keyHash(keys.ingest));
    expect(JSON.stringify(message)).not.toContain(keys.ingest);
    await revokeAtStubs(message.keyHash);

    const before = await batchPosts(message.batchId, region);
    const queue = createQueueHandler(servicesWith());
    expect(await deliverSpooled(queue, [region], message, 1)).toEqual({ acked: true, retried: false });
    expect(await batchPosts(message.batchId, region)).toBe(before);
    expect(await deadLetterOf(message.batchId)).toMatchObject({
      cause: "key_revoked",
      reason: "the app key was revoked since",
    });
  });

  it("retries, never dead-letters, a batch a region stored short of its quorum, and sends it to no other region", async () => {
    const stored = await spawnRegion("quorum");
    const other = await spawnRegion("other");
    const keys = await newApp();
    const message = await spooled([stored], keys.ingest);
    await setMode(stored, "quorum");
    const before = await batchPosts(message.batchId, stored);
    const queue = createQueueHandler(servicesWith({ revoked: new Set() }));
    expect(await deliverSpooled(queue, [stored, other], message, 1)).toEqual({ acked: false, retried: true });
    expect(await batchPosts(message.batchId, stored)).toBe(before + 1);
    expect(await batchPosts(message.batchId, other)).toBe(0);
    expect(await deadLetters(message.batchId)).toEqual([]);
  });

  it("waits, delivering nothing, while it has no revocation list to trust", async () => {
    const region = await spawnRegion("nolist");
    const keys = await newApp();
    const message = await spooled([region], keys.ingest);
    const before = await batchPosts(message.batchId, region);
    const queue = createQueueHandler(servicesWith({ revoked: null }));
    expect(await deliverSpooled(queue, [region], message, 1)).toEqual({ acked: false, retried: true });
    expect(await batchPosts(message.batchId, region)).toBe(before);
  });

  it("dead-letters what is not a spool message, and what does not open (tampered, or moved to another key)", async () => {
    const region = await spawnRegion("unreadable");
    const keys = await newApp();
    const queue = createQueueHandler(servicesWith({ revoked: new Set() }));
    const oldFormat = { v: 1, appId: keys.appId, batchId: crypto.randomUUID(), body: "{}" };
    expect(await deliverSpooled(queue, [region], oldFormat, 1)).toEqual({ acked: true, retried: false });
    expect(await deadLetterOf(oldFormat.batchId)).toMatchObject({ cause: "unreadable", spooled: oldFormat });

    const message = await spooled([region], keys.ingest);
    const other = await spooled([region], keys.ingest);
    const sealed = message.sealed as string;
    const tampered = {
      ...message,
      sealed: `${sealed.slice(0, 40)}${sealed[40] === "A" ? "B" : "A"}${sealed.slice(41)}`,
    };
    // Its seal binds the key's hash: a batch cannot pass for another (unrevoked) key's.
    const moved = { ...other, keyHash: "0".repeat(64) };
    for (const bad of [tampered, moved]) {
      expect(await deliverSpooled(queue, [region], bad, 1)).toEqual({ acked: true, retried: false });
      expect(await deadLetterOf(bad.batchId)).toMatchObject({ cause: "does_not_open" });
      expect(await batchPosts(bad.batchId, region)).toBe(1);
    }
  });

  it("retries at the longest backoff when there is no dead-letter queue to move a message to", async () => {
    const log = vi.spyOn(console, "log");
    const queue = createQueueHandler(servicesWith({ revoked: new Set() }));
    const unreadable = { v: 1, batchId: crypto.randomUUID() };
    const outcome = await deliverSpooled(queue, [regionsOf.eu], unreadable, 1, { SPOOL_DEAD: undefined });
    expect(outcome).toEqual({ acked: false, retried: true });
    const events = log.mock.calls.map(([line]) => JSON.parse(String(line)) as { batchId?: string });
    expect(events.filter((event) => event.batchId === unreadable.batchId)).toMatchObject([
      { outcome: "retry", delaySeconds: 900, cause: "unreadable", deadLetter: "not bound" },
    ]);
    log.mockRestore();
  });
});
