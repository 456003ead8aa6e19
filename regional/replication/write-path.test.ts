// The write path across three regions over real HTTP: quorum acknowledgement, the outbox when
// peers are away, idempotent retries anywhere, no replica forwarded again, and one version per
// batch id everywhere when two regions accepted different content under it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../../shared/errors.ts";
import type { BatchReceipt, LogPage } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import type { Health } from "../routes/health.ts";
import { callRegion, digestsOf, uploadTo } from "../testing/calls.ts";
import { startTestCluster, type TestCluster, type TestNode } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, readKeyFor, testAppId } from "../testing/harness.ts";

/** Transactions the region's committer ran so far (its group-size histogram's count). */
async function commitGroups(node: TestNode): Promise<number> {
  const { values } = await node.region.metrics.groupBatches.get();
  return values.find((value) => value.metricName?.endsWith("_count"))?.value ?? 0;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(drivers)("copies the quorum does not wait for, on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();
  const holdings = async (node: TestNode, batchIds: string[]) =>
    (await node.region.replicas.loadSealed(batchIds.map((batchId) => ({ appId, batchId })))).length;

  beforeAll(async () => {
    // Long enough that nothing is sent by the timer during the test; the quorum's own timeout is
    // shorter, so an upload whose needed peer fails is answered only if the deferred copy is hurried.
    cluster = await startTestCluster(kind, ["a", "b", "c"], { deferredCopyMs: 3000, quorumTimeoutMs: 1500 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("gathers several uploads' third copies into one call, and sends them when the region goes idle", async () => {
    const [a, b, c] = ["a", "b", "c"].map((name) => cluster.node(name)) as [TestNode, TestNode, TestNode];
    const batchIds: string[] = [];
    for (const index of [1, 2, 3]) {
      const batch = makeBatch({ lines: [{ ts: baseTs + index, text: `deferred ${index}` }] });
      const response = await uploadTo(a, appId, batch);
      expect(response.status).toBe(202);
      expect(((await response.json()) as BatchReceipt).regions).toEqual(["a", "b"]);
      batchIds.push(batch.batchId);
    }
    expect(await holdings(b, batchIds)).toBe(3);
    expect(await holdings(c, batchIds)).toBe(0);
    await a.region.replicator.idle();
    expect(await holdings(c, batchIds)).toBe(3);
    expect(c.replicateCalls.filter((call) => call.some((batchId) => batchIds.includes(batchId)))).toEqual([batchIds]);
  });

  it("sends the quorum peer a committed group in one call, not its first batch alone", async () => {
    const [a, b] = ["a", "b"].map((name) => cluster.node(name)) as [TestNode, TestNode];
    const batches = Array.from({ length: 8 }, (_, index) =>
      makeBatch({ lines: [{ ts: baseTs + 20 + index, text: `grouped ${index}` }] }),
    );
    const batchIds = batches.map((batch) => batch.batchId);
    const groupsBefore = await commitGroups(a);
    // As the upload route does, each batch on its way as soon as its own put resolves; put at once,
    // they commit as one group.
    const outcomes = await Promise.all(
      batches.map(async (batch) => {
        const stored = await a.region.store.put(appId, batch, {
          origin: "a",
          outboxPeers: a.region.replicator.peerNames,
          leaseMs: a.region.replicator.leaseMs,
        });
        if (!stored.ok) throw new Error(stored.error.message);
        return a.region.replicator.awaitQuorum({ appId, batchId: batch.batchId }, undefined, stored.value.replica);
      }),
    );
    expect(outcomes.every((outcome) => outcome.reached)).toBe(true);
    expect((await commitGroups(a)) - groupsBefore).toBe(1);
    const calls = b.replicateCalls.filter((call) => call.some((batchId) => batchIds.includes(batchId)));
    expect(calls.map((call) => call.length)).toEqual([batchIds.length]);
  });

  it("sends a deferred copy at once when the peer the quorum waited for fails", async () => {
    const [a, b, c] = ["a", "b", "c"].map((name) => cluster.node(name)) as [TestNode, TestNode, TestNode];
    // b still looks reachable to a (no probe since), so a relies on it first and finds it gone.
    await b.down();
    try {
      const batch = makeBatch({ lines: [{ ts: baseTs + 9, text: "hurried" }] });
      const response = await uploadTo(a, appId, batch);
      expect(response.status).toBe(202);
      expect(((await response.json()) as BatchReceipt).regions).toEqual(["a", "c"]);
      expect(await holdings(c, [batch.batchId])).toBe(1);
    } finally {
      await b.up();
    }
  });
});

describe.each(drivers)("replication write path on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();
  const a = () => cluster.node("a");
  const b = () => cluster.node("b");
  const c = () => cluster.node("c");
  const holds = async (name: string, batchId: string) =>
    (await cluster.node(name).region.replicas.loadSealed([{ appId, batchId }])).length === 1;
  const backlog = async (name: string) => cluster.node(name).region.replicator.backlog();

  beforeAll(async () => {
    cluster = await startTestCluster(kind);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("acknowledges once two regions hold the batch, then reaches the third; replicas go nowhere else", async () => {
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "quorum" }] });
    const response = await uploadTo(a(), appId, batch);
    expect(response.status).toBe(202);
    const receipt = (await response.json()) as BatchReceipt;
    expect(receipt).toMatchObject({ batchId: batch.batchId, region: "a", duplicate: false });
    expect(receipt.regions[0]).toBe("a");
    expect(receipt.regions.length).toBeGreaterThanOrEqual(2);
    await until(async () => (await holds("b", batch.batchId)) && (await holds("c", batch.batchId)));
    await until(async () => (await backlog("a")).size === 0);

    const [copy] = await b().region.replicas.loadSealed([{ appId, batchId: batch.batchId }]);
    const [original] = await a().region.replicas.loadSealed([{ appId, batchId: batch.batchId }]);
    expect(copy).toEqual(original);
    expect(copy?.origin).toBe("a");
    // Loop prevention: only a sent it; b and c queued nothing and sent nothing.
    expect(c().replicated.filter((entry) => entry.batchId === batch.batchId)).toEqual([
      { from: "a", batchId: batch.batchId },
    ]);
    expect(a().replicated.filter((entry) => entry.batchId === batch.batchId)).toEqual([]);
    expect((await backlog("b")).size + (await backlog("c")).size).toBe(0);
    expect(await b().region.replicator.runOutboxOnce()).toBe(0);
  });

  it("answers a retry at another region as a duplicate held by the quorum, and other content as a conflict", async () => {
    const batch = makeBatch({ lines: [{ ts: baseTs + 1, text: "retried elsewhere" }] });
    expect((await uploadTo(a(), appId, batch)).status).toBe(202);
    await until(() => holds("b", batch.batchId));
    const retry = await uploadTo(b(), appId, batch);
    expect(retry.status).toBe(202);
    const receipt = (await retry.json()) as BatchReceipt;
    expect(receipt).toMatchObject({ region: "b", duplicate: true });
    expect(receipt.regions.length).toBeGreaterThanOrEqual(2);
    expect(receipt.regions).toContain("b");
    const conflict = await uploadTo(b(), appId, { ...batch, logs: [{ ...batch.logs[0], text: "other" }] } as never);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as ErrorBody).error.code).toBe("BATCH_CONFLICT");
    // The copy the quorum did not wait for reaches c by itself, shortly after, and a hears so.
    await until(async () => (await holds("c", batch.batchId)) && (await backlog("a")).size === 0);
  });

  it("answers 503 QUORUM_UNAVAILABLE when no peer answers, keeps the batch, and catches up when peers return", async () => {
    await b().down();
    await c().down();
    try {
      await a().region.replicator.probePeers();
      const health = await fetch(`${a().url}/v1/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as Health).status).toBe("degraded");

      const batch = makeBatch({ lines: [{ ts: baseTs + 2, text: "no quorum" }] });
      const response = await uploadTo(a(), appId, batch);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("2");
      expect(((await response.json()) as ErrorBody).error.code).toBe("QUORUM_UNAVAILABLE");
      expect(await holds("a", batch.batchId)).toBe(true);

      const peers = ((await (await fetch(`${a().url}/v1/health`)).json()) as Health).peers;
      expect(peers.map((peer) => [peer.name, peer.backlog.entries])).toEqual([
        ["b", 1],
        ["c", 1],
      ]);
      expect(peers[0]?.backlog.oldestAgeMs).toBeGreaterThanOrEqual(0);
      expect(peers[0]?.lastContactAt).toEqual(expect.any(String));

      // A retry while b is back but c is not: the quorum is met again, honestly.
      await b().up();
      const retry = await uploadTo(a(), appId, batch);
      expect(retry.status).toBe(202);
      expect(((await retry.json()) as BatchReceipt).regions).toEqual(["a", "b"]);

      await c().up();
      // The failed sends backed off; the outbox delivers it by itself once it is due. b's copy may
      // have been handed to the outbox (its lease ran out) as the retry reached b: that entry
      // leaves once the outbox sends it again and b answers that it holds it.
      await until(async () => {
        await a().region.replicator.runOutboxOnce();
        return (await holds("c", batch.batchId)) && (await backlog("a")).size === 0;
      }, 15_000);
    } finally {
      await b()
        .up()
        .catch(() => undefined);
      await c()
        .up()
        .catch(() => undefined);
    }
  });

  it("refuses a replica that does not authenticate, one claiming to come from itself, and unsigned calls", async () => {
    // Stored in a alone (no outbox) under an app of its own, to be sent by hand.
    const otherApp = testAppId();
    const batch = makeBatch({ lines: [{ ts: baseTs + 3, text: "tampered in transit" }] });
    expect((await a().region.store.put(otherApp, batch)).ok).toBe(true);
    const [sealed] = await a().region.replicas.loadSealed([{ appId: otherApp, batchId: batch.batchId }]);
    if (!sealed) throw new Error("not stored");
    const bytes = Buffer.from(sealed.ciphertext, "base64");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    const tampered = { ...sealed, ciphertext: bytes.toString("base64") };
    const refused = await callRegion(
      b(),
      "POST",
      internalPaths.replicate,
      { from: "a", batches: [tampered] },
      { role: "peer" },
    );
    expect(refused.status).toBe(200);
    expect(await refused.json()).toEqual({ results: [] });
    const heldByB = async () =>
      (await b().region.replicas.loadSealed([{ appId: otherApp, batchId: batch.batchId }])).length;
    expect(await heldByB()).toBe(0);
    // The clear metadata travels beside the seal, which binds it: a copy claiming another device,
    // another time span or other level counts is refused as well.
    const meta = sealed.meta;
    if (!meta) throw new Error("a format 2 batch carries its metadata");
    for (const altered of [
      { ...meta, deviceId: "someone-else" },
      { ...meta, lastTs: meta.lastTs + 1 },
      { ...meta, counts: { ...meta.counts, errorCount: meta.counts.errorCount + 1 } },
    ]) {
      const moved = await callRegion(
        b(),
        "POST",
        internalPaths.replicate,
        { from: "a", batches: [{ ...sealed, meta: altered }] },
        { role: "peer" },
      );
      expect(await moved.json()).toEqual({ results: [] });
    }
    expect(await heldByB()).toBe(0);

    const fromSelf = await callRegion(
      b(),
      "POST",
      internalPaths.replicate,
      { from: "b", batches: [sealed] },
      { role: "peer" },
    );
    expect(fromSelf.status).toBe(400);
    const unsigned = await fetch(`${b().url}${internalPaths.replicate}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ from: "a", batches: [sealed] }),
    });
    expect(unsigned.status).toBe(401);
    expect(await heldByB()).toBe(0);
  });

  it("converges on one version when two regions accepted different content under one batch id", async () => {
    const first = makeBatch({ batchId: "batch-contested-0001", lines: [{ ts: baseTs, text: "version a" }] });
    const second = { ...first, logs: [{ ...first.logs[0], text: "version b" }] } as typeof first;
    // Committed locally (as two uploads racing would be), before either reached a peer.
    const placement = (origin: string, peers: string[]) => ({ origin, outboxPeers: peers, leaseMs: 0 });
    expect((await a().region.store.put(appId, first, placement("a", ["b", "c"]))).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await b().region.store.put(appId, second, placement("b", ["a", "c"]))).ok).toBe(true);
    await Promise.all([b().region.replicator.runOutboxOnce(), a().region.replicator.runOutboxOnce()]);

    for (const node of cluster.nodes) {
      const appKey = await readKeyFor(node.region, appId);
      const read = await callRegion(node, "GET", `${internalPaths.logs(appId)}?q=version`, undefined, { appKey });
      expect(
        ((await read.json()) as LogPage).logs.map((line) => line.text),
        node.name,
      ).toEqual(["version a"]);
    }
    const ofThisApp = async (node: TestNode) => (await digestsOf(node)).filter((bucket) => bucket.appId === appId);
    const [digestA, digestB, digestC] = await Promise.all(cluster.nodes.map((node) => ofThisApp(node)));
    expect(digestB).toEqual(digestA);
    expect(digestC).toEqual(digestA);
  });
});
