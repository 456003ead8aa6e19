// Replication's per-peer marks: the upload path writes nothing per batch for replication, the
// worker moves a peer's mark past what it confirmed, a batch nobody confirmed (its sender gone, a
// crash) is sent once its sender's lease runs out, and one a peer cannot take waits in the outbox
// without holding the mark back; a pass with nothing owed costs one query.
import { and, eq, inArray } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { batches, outbox, replicationMarks } from "../db/schema/index.ts";
import { owed } from "../store/marks.ts";
import { dayOf, ensurePartitions } from "../store/partitions.ts";
import { uploadTo } from "../testing/calls.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId } from "../testing/harness.ts";
import { sequentialScans } from "../testing/rows.ts";

// A sender's lease is two peer timeouts: 600 ms here.
const peerTimeoutMs = 300;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(drivers)("replication marks on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();
  const a = () => cluster.node("a");
  const db = () => a().region.database.db;
  const markOf = async (peer: string) =>
    (await db().select().from(replicationMarks).where(eq(replicationMarks.peer, peer)))[0]?.seq;
  const seqsOf = async (ids: string[]) =>
    (await db().select({ seq: batches.originSeq }).from(batches).where(inArray(batches.batchId, ids))).map(
      (row) => row.seq as bigint,
    );
  const tracked = { origin: "a", outboxPeers: ["b"], leaseMs: 2 * peerTimeoutMs };

  beforeAll(async () => {
    cluster = await startTestCluster(kind, ["a", "b"], { peerTimeoutMs, quorumTimeoutMs: 5000, ackQuorum: 2 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("acknowledges uploads without an outbox row, then moves the mark past them without sending again", async () => {
    const sent = Array.from({ length: 6 }, (_, index) => makeBatch({ lines: [{ ts: baseTs + index }] }));
    const responses = await Promise.all(sent.map((batch) => uploadTo(a(), appId, batch)));
    expect(responses.map((response) => response.status)).toEqual(sent.map(() => 202));
    const ids = sent.map((batch) => batch.batchId);
    expect(await db().select().from(outbox).where(inArray(outbox.batchId, ids))).toEqual([]);
    expect((await a().region.replicator.backlog()).size).toBe(0);

    expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    const mark = (await markOf("b")) as bigint;
    for (const seq of await seqsOf(ids)) expect(seq < mark).toBe(true);
    expect((await a().region.replicator.backlog()).size).toBe(0);
    // Each went to b once: confirmed on the upload path, not sent again by the worker.
    const received = cluster.node("b").replicated.filter((entry) => ids.includes(entry.batchId));
    expect(received.map((entry) => entry.batchId).sort()).toEqual([...ids].sort());
  });

  it.skipIf(kind === "pglite")(
    "moves the mark past a write transaction left open in another database of the server",
    async () => {
      // Transaction ids are the server's: this one is older than the batches below.
      const elsewhere = postgres(process.env.TEST_DATABASE_URL as string, { max: 1, onnotice: () => undefined });
      const connection = await elsewhere.reserve();
      await connection`begin`;
      await connection`select pg_current_xact_id()`;
      try {
        const sent = Array.from({ length: 3 }, (_, index) => makeBatch({ lines: [{ ts: baseTs + 50 + index }] }));
        for (const batch of sent) expect((await uploadTo(a(), appId, batch)).status).toBe(202);
        const seqs = await seqsOf(sent.map((batch) => batch.batchId));
        // A transaction of another test ending as the horizon is read may hold one pass back.
        await vi.waitFor(
          async () => {
            await a().region.replicator.runOutboxOnce();
            const mark = (await markOf("b")) as bigint;
            for (const seq of seqs) expect(seq < mark).toBe(true);
          },
          { timeout: 5000 },
        );
      } finally {
        await connection`rollback`;
        connection.release();
        await elsewhere.end();
      }
    },
  );

  it("sends a committed batch nobody confirmed once its sender's lease has run out, and reports it owed until then", async () => {
    // Stored as an upload stores it, but its sender never sends it: the process died after the commit.
    const batch = makeBatch({ lines: [{ ts: baseTs + 100, text: "orphaned by a crash" }] });
    expect((await a().region.store.put(appId, batch, tracked)).ok).toBe(true);
    expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    const owed = (await a().region.replicator.backlog()).get("b");
    expect(owed?.entries).toBe(1);
    expect(owed?.oldestAgeMs).toBeGreaterThanOrEqual(0);
    const [seq] = await seqsOf([batch.batchId]);
    expect((await markOf("b")) as bigint).toBeLessThanOrEqual(seq as bigint);

    await pause(3 * peerTimeoutMs);
    expect(await a().region.replicator.runOutboxOnce()).toBe(1);
    expect(cluster.node("b").replicated.filter((entry) => entry.batchId === batch.batchId)).toHaveLength(1);
    expect((await markOf("b")) as bigint).toBeGreaterThan(seq as bigint);
    expect((await a().region.replicator.backlog()).size).toBe(0);
  });

  it("reports a batch no longer owed once it has expired, confirmed or not", async () => {
    const batch = makeBatch({ lines: [{ ts: baseTs + 120, text: "expires before anyone confirms it" }] });
    expect((await a().region.store.put(appId, batch, tracked)).ok).toBe(true);
    expect((await a().region.replicator.backlog()).get("b")?.entries).toBe(1);
    // Its retention shortened to nothing: filed under today, a moment ago.
    const nowMs = Date.now();
    await ensurePartitions(db(), [dayOf(nowMs - 1000)]);
    await db()
      .update(batches)
      .set({ expiresAt: new Date(nowMs - 1000) })
      .where(eq(batches.batchId, batch.batchId));
    expect((await a().region.replicator.backlog()).size).toBe(0);
    // And the mark moves past it without sending it.
    expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    expect(cluster.node("b").replicated.filter((entry) => entry.batchId === batch.batchId)).toEqual([]);
  });

  it("spends an idle pass on one query, and looks at a peer again once a batch is above its mark or an entry is due", async () => {
    const { replicas, replicator } = a().region;
    const advance = vi.spyOn(replicas, "advanceMark");
    const claim = vi.spyOn(replicas, "claim");
    try {
      expect(await replicas.owed()).toEqual(new Map([["b", { due: false, aboveMark: false }]]));
      expect(await replicator.runOutboxOnce()).toBe(0);
      expect(advance).not.toHaveBeenCalled();
      expect(claim).not.toHaveBeenCalled();

      const uploaded = makeBatch({ lines: [{ ts: baseTs + 150 }] });
      expect((await uploadTo(a(), appId, uploaded)).status).toBe(202);
      expect((await replicas.owed()).get("b")).toEqual({ due: false, aboveMark: true });
      await replicator.runOutboxOnce();
      expect(advance).toHaveBeenCalledTimes(1);
      expect((await replicas.owed()).get("b")).toEqual({ due: false, aboveMark: false });

      // Stored by a tool: an outbox entry, due at once, and no sequence; owed to b, not to another peer.
      await db()
        .insert(replicationMarks)
        .values({ peer: "z", seq: (await markOf("b")) as bigint });
      const queued = makeBatch({ lines: [{ ts: baseTs + 160 }] });
      expect((await a().region.store.put(appId, queued, { ...tracked, leaseMs: 0 })).ok).toBe(true);
      expect((await replicas.owed()).get("b")).toEqual({ due: true, aboveMark: false });
      expect((await replicas.owed()).get("z")).toEqual({ due: false, aboveMark: false });
      await db().delete(replicationMarks).where(eq(replicationMarks.peer, "z"));
      expect(await replicator.runOutboxOnce()).toBe(1);
      expect(advance).toHaveBeenCalledTimes(1);
      expect(cluster.node("b").replicated.filter((entry) => entry.batchId === queued.batchId)).toHaveLength(1);
      expect((await replicas.owed()).get("b")).toEqual({ due: false, aboveMark: false });
    } finally {
      advance.mockRestore();
      claim.mockRestore();
    }
  });

  it("leaves a batch the peer does not take to the outbox, and moves the mark on past it", async () => {
    const stuck = makeBatch({ lines: [{ ts: baseTs + 200, text: "b is away" }] });
    await cluster.node("b").down();
    try {
      expect((await a().region.store.put(appId, stuck, tracked)).ok).toBe(true);
      await pause(3 * peerTimeoutMs);
      expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    } finally {
      await cluster.node("b").up();
    }
    const [entry] = await db()
      .select()
      .from(outbox)
      .where(and(eq(outbox.peer, "b"), eq(outbox.batchId, stuck.batchId)));
    expect(entry?.attempts).toBe(1);
    const [stuckSeq] = await seqsOf([stuck.batchId]);
    expect((await markOf("b")) as bigint).toBeGreaterThan(stuckSeq as bigint);
    // Still owed, and health says so, while later uploads are confirmed and passed as usual.
    const later = makeBatch({ lines: [{ ts: baseTs + 300 }] });
    expect((await uploadTo(a(), appId, later)).status).toBe(202);
    await a().region.replicator.runOutboxOnce();
    const [laterSeq] = await seqsOf([later.batchId]);
    expect((await markOf("b")) as bigint).toBeGreaterThan(laterSeq as bigint);
    expect((await a().region.replicator.backlog()).get("b")?.entries).toBe(1);
  });

  it("looks at the outbox and above the marks off their indexes, reading neither whole", async () => {
    const batch = makeBatch({ lines: [{ ts: baseTs + 300, text: "above the mark" }] });
    expect((await a().region.store.put(appId, batch, tracked)).ok).toBe(true);
    const { looked, scans } = await db().transaction(async (tx) => {
      const before = [await sequentialScans(tx), await sequentialScans(tx, "outbox")];
      const looked = await owed({ db: tx, clock: { now: () => Date.now() } })();
      const after = [await sequentialScans(tx), await sequentialScans(tx, "outbox")];
      return { looked, scans: after.map((count, index) => count - (before[index] as number)) };
    });
    expect(looked.get("b")).toMatchObject({ aboveMark: true });
    expect(scans).toEqual([0, 0]);
  });
});
