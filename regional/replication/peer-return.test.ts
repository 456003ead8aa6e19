// A peer back from an outage gets what it missed at the next outbox pass: what backed off while it
// was away, and what the upload path failed to send it, without waiting out backoffs or leases.
// A blip shorter than a lease (a call shed under load) changes nothing, unless its readiness probe
// failed meanwhile: then it was out, not busy.
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../db/schema/index.ts";
import { uploadTo } from "../testing/calls.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId } from "../testing/harness.ts";

describe.each(drivers)("a peer answering again on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();
  // The regions' clock, moved instead of sleeping through leases.
  let offsetMs = 0;
  const clock = { now: () => Date.now() + offsetMs };
  const a = () => cluster.node("a");
  const b = () => cluster.node("b");
  const receivedByB = (ids: string[]) =>
    b()
      .replicated.filter((entry) => ids.includes(entry.batchId))
      .map((entry) => entry.batchId)
      .sort();

  beforeAll(async () => {
    // A failed send backs off for 30-60 s: anything b gets early, it got because it came back.
    cluster = await startTestCluster(kind, ["a", "b", "c"], { outboxBackoffBaseMs: 60_000 }, { clock });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("gets the outage's batches at the first pass after it answers, backed off or within their lease", async () => {
    const upload = async (text: string) => {
      const batch = makeBatch({ lines: [{ ts: baseTs, text }] });
      expect((await uploadTo(a(), appId, batch)).status).toBe(202);
      return batch.batchId;
    };
    await b().down();
    const early = [await upload("before the lease ran out"), await upload("also early")];
    // Past their lease: the worker takes them over, its send fails, they back off.
    offsetMs += a().region.replicator.leaseMs + 1;
    expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    // Within its lease when b returns.
    const late = await upload("just before b returned");
    // Its copy to b has failed, not merely been deferred past b's return.
    await a().region.replicator.idle();
    await b().up();
    // Up, but a has not heard from it yet: nothing is due.
    expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    expect(receivedByB([...early, late])).toEqual([]);

    await a().region.replicator.probePeers();
    expect(await a().region.replicator.runOutboxOnce()).toBe(3);
    expect(receivedByB([...early, late])).toEqual([...early, late].sort());
    expect((await a().region.replicator.backlog()).size).toBe(0);
  });

  it("gets what it missed at the first pass after an outage shorter than a lease, once a probe found it not ready", async () => {
    await b().down();
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "while b restarted" }] });
    expect((await uploadTo(a(), appId, batch)).status).toBe(202);
    // Its copy to b has failed, and its lease has not run out.
    await a().region.replicator.idle();
    await a().region.replicator.probePeers();
    await b().up();
    await a().region.replicator.probePeers();
    expect(await a().region.replicator.runOutboxOnce()).toBe(1);
    expect(receivedByB([batch.batchId])).toEqual([batch.batchId]);
    expect((await a().region.replicator.backlog()).size).toBe(0);
  });

  it("makes due at most the entries one pass sends, the earliest first", async () => {
    await b().down();
    const owed: string[] = [];
    for (const text of ["first", "second", "third"]) {
      const batch = makeBatch({ lines: [{ ts: baseTs, text }] });
      expect((await a().region.store.put(appId, batch, { origin: "a", outboxPeers: ["b"], leaseMs: 0 })).ok).toBe(true);
      expect(await a().region.replicator.runOutboxOnce()).toBe(0);
      owed.push(batch.batchId);
    }
    await b().up();
    const due = async () =>
      (await a().region.database.db.select().from(outbox).where(inArray(outbox.batchId, owed)))
        .filter((entry) => entry.nextAttemptAt.getTime() <= clock.now())
        .map((entry) => entry.batchId);
    expect(await due()).toEqual([]);
    const backedOff = await a().region.database.db.select().from(outbox).where(inArray(outbox.batchId, owed));
    const earliest = backedOff.sort((x, y) => x.nextAttemptAt.getTime() - y.nextAttemptAt.getTime()).slice(0, 2);
    expect(await a().region.replicas.resume("b", 2)).toBe(2);
    expect((await due()).sort()).toEqual(earliest.map((entry) => entry.batchId).sort());
    // The third goes once its backoff runs out, with the next pass's.
    expect(await a().region.replicator.runOutboxOnce()).toBe(2);
    expect((await a().region.replicator.backlog()).get("b")?.entries).toBe(1);
    await a().region.database.db.delete(outbox).where(inArray(outbox.batchId, owed));
  });

  it("waits out the backoff after a blip shorter than a lease", async () => {
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "sent during a blip" }] });
    await b().down();
    // Owed to b at once (no lease), as a batch the upload path did not send is after its lease.
    expect((await a().region.store.put(appId, batch, { origin: "a", outboxPeers: ["b"], leaseMs: 0 })).ok).toBe(true);
    expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    await b().up();
    await a().region.replicator.probePeers();
    expect(await a().region.replicator.runOutboxOnce()).toBe(0);
    expect(receivedByB([batch.batchId])).toEqual([]);
    expect((await a().region.replicator.backlog()).get("b")?.entries).toBe(1);
  });
});
