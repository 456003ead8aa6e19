// The outbox: a failed send backs off (exponentially, with jitter) and is never dropped; several
// processes of one region sharing one PostgreSQL database send each entry once between them.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../db/schema/index.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId } from "../testing/harness.ts";

describe.each(drivers)("outbox on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();

  beforeAll(async () => {
    cluster = await startTestCluster(kind, ["a", "b"], { outboxBackoffBaseMs: 60_000 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("backs off after a failed send, keeps the entry, and sends it once the peer is back and it is due", async () => {
    const a = cluster.node("a");
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "waits for b" }] });
    await cluster.node("b").down();
    try {
      const placement = { origin: "a", outboxPeers: ["b"], leaseMs: 0 };
      expect((await a.region.store.put(appId, batch, placement)).ok).toBe(true);
      expect(await a.region.replicator.runOutboxOnce()).toBe(0);
      const [entry] = await a.region.database.db.select().from(outbox).where(eq(outbox.batchId, batch.batchId));
      expect(entry?.attempts).toBe(1);
      // base 60 s, scaled by 50-100 % jitter
      const delayMs = (entry?.nextAttemptAt.getTime() ?? 0) - Date.now();
      expect(delayMs).toBeGreaterThan(25_000);
      expect(delayMs).toBeLessThanOrEqual(60_000);
    } finally {
      await cluster.node("b").up();
    }
    // Back, but not due: nothing is sent before the backoff runs out.
    expect(await a.region.replicator.runOutboxOnce()).toBe(0);
    await a.region.database.db
      .update(outbox)
      .set({ nextAttemptAt: new Date(0) })
      .where(eq(outbox.batchId, batch.batchId));
    expect(await a.region.replicator.runOutboxOnce()).toBe(1);
    expect((await a.region.replicator.backlog()).size).toBe(0);
    expect(cluster.node("b").replicated.map((entry) => entry.batchId)).toEqual([batch.batchId]);
  });
});

describe.each(drivers.filter((kind) => kind === "postgres"))("outbox worked by two processes on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();

  beforeAll(async () => {
    // 300 entries in calls of 64, each opened by the receiver: on a loaded machine one call can
    // take seconds, and a timed-out call would back off and leave entries unsent.
    cluster = await startTestCluster(kind, ["a", "b"], { peerTimeoutMs: 20_000 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("sends each entry exactly once between them", async () => {
    const first = cluster.node("a").region;
    const second = await cluster.sibling("a");
    const batches = Array.from({ length: 300 }, (_, index) =>
      makeBatch({ lines: [{ ts: baseTs + index, text: `entry ${index}` }] }),
    );
    for (const batch of batches) {
      const placement = { origin: "a", outboxPeers: ["b"], leaseMs: 0 };
      expect((await first.store.put(appId, batch, placement)).ok).toBe(true);
    }
    const sent = await Promise.all([
      first.replicator.runOutboxOnce(),
      second.replicator.runOutboxOnce(),
      first.replicator.runOutboxOnce(),
      second.replicator.runOutboxOnce(),
    ]);
    expect(sent.reduce((sum, count) => sum + count, 0)).toBe(300);
    expect(sent.filter((count) => count > 0).length).toBeGreaterThan(1);
    const received = cluster.node("b").replicated.map((entry) => entry.batchId);
    expect(received).toHaveLength(300);
    expect(new Set(received).size).toBe(300);
    expect((await first.replicator.backlog()).size).toBe(0);
  });
});
