// Anti-entropy over real HTTP: a region that lost its data (or never got it, its outbox gone)
// converges by comparing digests with its peers, repairing both ways; apps, keys and above all
// revocations written while a region was away reach it too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyHash } from "../../shared/keys.ts";
import { internalPaths } from "../../shared/regions.ts";
import { type DigestsResponse, digestsPath } from "../../shared/replication.ts";
import { verify } from "../admin/cluster.ts";
import { callRegion, digestsOf } from "../testing/calls.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId, testSecrets } from "../testing/harness.ts";
import { differingBuckets, plan } from "./anti-entropy.ts";

const hourMs = 3_600_000;

describe.each(drivers)("anti-entropy on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();
  const node = (name: string) => cluster.node(name);
  const noOutbox = (origin: string) => ({ origin, outboxPeers: [], leaseMs: 0 });
  // Batches are written hours ago (their hour has settled), and every call is made now: regions
  // check signatures against their clock.
  let offsetMs = 0;
  const clock = { now: () => Date.now() - offsetMs };
  const hoursAgo = async <T>(hours: number, write: () => Promise<T>): Promise<T> => {
    offsetMs = hours * hourMs;
    try {
      return await write();
    } finally {
      offsetMs = 0;
    }
  };

  beforeAll(async () => {
    cluster = await startTestCluster(kind, ["a", "b", "c"], {}, { clock });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("repairs a region that missed batches, both ways, until every digest agrees", async () => {
    const shared = Array.from({ length: 5 }, (_, index) =>
      makeBatch({ lines: [{ ts: baseTs + index, text: `held by a and b ${index}` }] }),
    );
    for (const [index, batch] of shared.entries()) {
      await hoursAgo(2 + index, async () => {
        expect((await node("a").region.store.put(appId, batch, noOutbox("a"))).ok).toBe(true);
        const [sealed] = await node("a").region.replicas.loadSealed([{ appId, batchId: batch.batchId }]);
        expect((await node("b").region.replicas.apply(sealed as never)).ok).toBe(true);
      });
    }
    const onlyC = makeBatch({ lines: [{ ts: baseTs, text: "only c has this" }] });
    await hoursAgo(3, async () =>
      expect((await node("c").region.store.put(appId, onlyC, noOutbox("c"))).ok).toBe(true),
    );
    expect(await digestsOf(node("c"))).not.toEqual(await digestsOf(node("a")));
    const admin = {
      regions: cluster.nodes.map(({ name, adminUrl }) => ({ name, url: adminUrl })),
      keySecret: "unused-by-verify-0123456789abcdef",
      adminSecret: testSecrets.admin,
    };
    const before = await verify(admin);
    expect(before.converged).toBe(false);
    expect(before.regions.c).toMatchObject({ batches: 1 });

    const reports = await node("c").region.replicator.runAntiEntropyOnce();
    expect(reports.map((report) => [report.peer, report.pulled, report.pushed])).toEqual([
      ["a", 5, 1],
      ["b", 0, 1],
    ]);
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((name) => digestsOf(node(name))));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a?.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(6);
    const after = await verify(admin);
    expect(after.converged).toBe(true);
    expect(Object.values(after.regions).map((region) => ("batches" in region ? region.batches : 0))).toEqual([6, 6, 6]);
    // Converged: another round finds nothing to do.
    const again = await node("a").region.replicator.runAntiEntropyOnce();
    expect(again.every((report) => report.bucketsDiffering === 0)).toBe(true);
  });

  it("leaves a batch still in flight to replication, and repairs one minutes old before its hour ends", async () => {
    const app = testAppId();
    const recent = makeBatch({ lines: [{ ts: baseTs, text: "just arrived at a, on its way to b" }] });
    const minutesOld = makeBatch({ lines: [{ ts: baseTs, text: "three minutes at a, past the horizon" }] });
    expect((await node("a").region.store.put(app, recent, noOutbox("a"))).ok).toBe(true);
    await hoursAgo(3 / 60, async () =>
      expect((await node("a").region.store.put(app, minutesOld, noOutbox("a"))).ok).toBe(true),
    );
    const batchIdsAt = async (name: string) =>
      (
        await node(name).region.replicas.entries([
          { appId: app, hour: Math.floor(Date.now() / hourMs) },
          { appId: app, hour: Math.floor(Date.now() / hourMs) - 1 },
        ])
      ).map((entry) => entry.batchId);
    expect((await batchIdsAt("a")).sort()).toEqual([recent.batchId, minutesOld.batchId].sort());
    expect(await batchIdsAt("b")).toEqual([]);

    const [report] = await node("b").region.replicator.runAntiEntropyOnce();
    expect(report).toMatchObject({ peer: "a", bucketsDiffering: 1, pushed: 0, pulled: 1 });
    expect(await batchIdsAt("b")).toEqual([minutesOld.batchId]);
  });

  it("answers a region of the previous version (no format asked) in format 1, and a bad query with 400", async () => {
    const asPeer = (path: string) => callRegion(node("a"), "GET", path, undefined, { role: "peer" });
    const previous = await asPeer(internalPaths.syncDigests);
    expect(previous.status).toBe(200);
    const answer = (await previous.json()) as DigestsResponse;
    expect(answer.format).toBeUndefined();
    expect(answer.buckets).toEqual(await node("a").region.replicas.digests());
    const current = (await (await asPeer(digestsPath(internalPaths.syncDigests))).json()) as DigestsResponse;
    expect(current.format).toBe(2);
    expect(current.buckets.map(({ hour, count }) => [hour, count])).toEqual(
      answer.buckets.map(({ hour, count }) => [hour, count]),
    );
    const hour = Math.floor(Date.now() / hourMs);
    const minutes = (await (
      await asPeer(digestsPath(internalPaths.syncDigests, { hour, minute: hour * 60 + 59 }))
    ).json()) as DigestsResponse;
    expect(minutes.beforeMinute).toBe(hour * 60 + 59);
    for (const query of [
      "?format=3",
      "?format=2&before=soon",
      "?format=2&before=-1",
      "?format=2&other=1",
      `?format=2&before=${hour}&beforeMinute=${hour * 60 + 60}`,
      `?format=2&beforeMinute=${hour * 60}`,
    ]) {
      expect((await asPeer(`${internalPaths.syncDigests}${query}`)).status, query).toBe(400);
    }
  });

  it("feeds the pass time and the repairs to the region's metrics", async () => {
    const missing = makeBatch({ lines: [{ ts: baseTs, text: "only a has this, settled" }] });
    await hoursAgo(5, async () =>
      expect((await node("a").region.store.put(appId, missing, noOutbox("a"))).ok).toBe(true),
    );
    const pulled = async () =>
      Number(
        (await node("b").region.metrics.registry.metrics()).match(
          /stormlog_anti_entropy_repairs_total\{peer="a",direction="pull",region="b"\} (\d+)/,
        )?.[1] ?? 0,
      );
    const before = await pulled();
    await node("b").region.replicator.runAntiEntropyOnce();
    expect(await pulled()).toBe(before + 1);
    const text = await node("b").region.metrics.registry.metrics();
    expect(text).toMatch(/stormlog_anti_entropy_pass_seconds_count\{region="b",peer="a"\} [1-9]/);
  });

  it("brings apps, keys and revocations to a region that was away when they were written", async () => {
    const app = testAppId();
    const keys = [
      { hash: await keyHash(`ingest-${app}`), kind: "ingest" as const, label: "ingest…1" },
      { hash: await keyHash(`read-${app}`), kind: "read" as const, label: "read…1" },
    ];
    await node("a").region.store.upsertApp({ id: app, name: "written while c was down", keys });
    await node("b").region.store.upsertApp({ id: app, name: "written while c was down", keys });
    await node("b").region.store.revokeKey({ ...(keys[0] as (typeof keys)[0]), appId: app });
    expect(await node("c").region.store.appKeys(app)).toBeNull();

    await node("c").region.replicator.runAntiEntropyOnce();
    await node("a").region.replicator.runAntiEntropyOnce();
    for (const name of ["a", "b", "c"]) {
      expect(await node(name).region.store.revokedKeyHashes(), name).toContain(keys[0]?.hash);
      expect((await node(name).region.store.appKeys(app))?.length, name).toBe(2);
    }
  });
});

describe("anti-entropy planning", () => {
  const version = (batchId: string, origin: string, receivedAt: number) => ({
    appId: "0123456789abcdef",
    batchId,
    origin,
    receivedAt,
  });

  it("finds buckets that differ or exist on one side only", () => {
    const bucket = (hour: number, hash: string) => ({ appId: "0123456789abcdef", hour, count: 1, hash });
    expect(differingBuckets([bucket(1, "x"), bucket(2, "y")], [bucket(2, "y"), bucket(3, "z")])).toEqual([
      { appId: "0123456789abcdef", hour: 1 },
      { appId: "0123456789abcdef", hour: 3 },
    ]);
  });

  it("sends what the other side lacks and the earlier version of a contested id, never the later one", () => {
    const local = [version("mine", "a", 1), version("contested", "a", 5), version("same", "a", 1)];
    const remote = [version("theirs", "b", 1), version("contested", "b", 4), version("same", "a", 1)];
    expect(plan(local, remote)).toEqual({
      push: [{ appId: "0123456789abcdef", batchId: "mine" }],
      pull: [
        { appId: "0123456789abcdef", batchId: "theirs" },
        { appId: "0123456789abcdef", batchId: "contested" },
      ],
    });
  });
});
