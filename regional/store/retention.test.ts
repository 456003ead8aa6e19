// Retention on both drivers: a batch is filed under the day it expires on, unreadable from that
// moment by every read, never sent, accepted or repaired once expired, and its partition dropped
// after its day; a retention change re-files the app's batches, and the latest change wins.
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retentionDaysDefault } from "../../shared/lifecycle.ts";
import { listApps, listDeviceSettings, setDeviceSettings, setRetention } from "../admin/cluster.ts";
import { batches } from "../db/schema/index.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId, testSecrets } from "../testing/harness.ts";
import { storedCounts } from "../testing/rows.ts";
import { dayMs, dayOf, dropExpiredPartitions, listPartitions, partitionName } from "./partitions.ts";

const t0 = Date.UTC(2026, 5, 10, 15, 0, 0);
const wholeRead = { limit: 100, order: "asc" } as const;

describe.each(drivers)("retention on %s", (kind) => {
  let cluster: TestCluster;
  let nowMs = t0;
  const clock = { now: () => nowMs };
  const node = (name: string) => cluster.node(name).region;
  const db = (name: string) => node(name).database.db;

  beforeAll(async () => {
    cluster = await startTestCluster(kind, ["a", "b", "c"], {}, { clock });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  async function registered(): Promise<string> {
    const appId = testAppId();
    for (const name of ["a", "b", "c"]) await node(name).store.upsertApp({ id: appId, name: "retained", keys: [] });
    return appId;
  }

  it("hides a batch once it expires, then drops its day's partition and its device", async () => {
    nowMs = t0;
    const appId = await registered();
    const batch = makeBatch({ deviceId: "expiring", lines: [{ ts: baseTs, text: "kept for 30 days" }] });
    expect((await node("a").store.put(appId, batch)).ok).toBe(true);
    const expiryDay = dayOf(t0 + retentionDaysDefault * dayMs);
    expect(await listPartitions(db("a"))).toContain(expiryDay);
    const read = async () => {
      const page = await node("a").store.readLogs(appId, wholeRead);
      return page.ok ? page.value.logs : null;
    };
    expect(await read()).toHaveLength(1);

    // The lifecycle run (what the region's expiry loop runs at boot) creates partitions ahead.
    expect(await node("a").expiry.runOnce()).toEqual({ partitionsDropped: 0, devicesDeleted: 0 });
    expect(await listPartitions(db("a"))).toEqual(expect.arrayContaining([expiryDay, expiryDay + 1]));

    nowMs = t0 + retentionDaysDefault * dayMs; // the moment it expires
    expect(await read()).toEqual([]);
    const volume = await node("a").store.volume(appId, { from: baseTs - 1000, to: baseTs + 1000, buckets: 1 });
    expect(volume.total.info).toBe(0);
    expect((await node("a").store.usage(appId, {})).totals.batches).toBe(0);
    expect((await node("a").store.appDigest(appId)).batches).toBe(0);
    const listed = await node("a").store.devices(appId, { limit: 10 });
    expect(listed.ok && listed.value.devices).toEqual([]);
    // Still inside its partition's day: unreadable, not yet removed.
    expect((await node("a").store.expire(600_000)).partitionsDropped).toBe(0);
    expect(await storedCounts(db("a"), appId)).toEqual({ batches: 1, devices: 0 });

    nowMs = (expiryDay + 1) * dayMs; // its day is over
    const report = await node("a").store.expire(600_000);
    expect(report.partitionsDropped).toBeGreaterThanOrEqual(1);
    expect(await listPartitions(db("a"))).not.toContain(expiryDay);
    expect(await storedCounts(db("a"), appId)).toEqual({ batches: 0, devices: 0 });

    // The id is free again: a new upload under it is a new batch.
    const again = await node("a").store.put(appId, batch);
    expect(again.ok && again.value).toEqual({ duplicate: false });
  });

  it("stores one batch id once across partitions, however many arrive at once and whenever", async () => {
    nowMs = t0;
    const appId = await registered();
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "sent five times" }] });
    // Each arrival is received at another time, so each would file under another expiry.
    const results = await Promise.all(
      Array.from({ length: 5 }, async (_, index) => {
        nowMs = t0 + index * dayMs;
        return node("a").store.put(appId, batch);
      }),
    );
    expect(results.map((result) => result.ok && result.value.duplicate).sort()).toEqual([
      false,
      true,
      true,
      true,
      true,
    ]);
    expect((await storedCounts(db("a"), appId)).batches).toBe(1);
    nowMs = t0;
  });

  it.skipIf(kind !== "postgres")("leaves a day whose drop would wait on a long read for the next run", async () => {
    nowMs = t0;
    const appId = await registered();
    await node("a").store.put(appId, makeBatch({ lines: [{ ts: baseTs, text: "read for a long time" }] }));
    const day = dayOf(t0 + retentionDaysDefault * dayMs);
    const reader = postgres(cluster.node("a").database.databaseUrl as string, { max: 1, onnotice: () => undefined });
    try {
      await reader.begin(async (tx) => {
        await tx.unsafe(`select count(*) from "${partitionName(day)}"`);
        const startedMs = performance.now();
        expect(await dropExpiredPartitions(db("a"), (day + 1) * dayMs)).not.toContain(day);
        expect(performance.now() - startedMs).toBeLessThan(5000);
      });
      expect(await dropExpiredPartitions(db("a"), (day + 1) * dayMs)).toContain(day);
    } finally {
      await reader.end();
    }
  });

  it("never sends, accepts or repairs an expired batch", async () => {
    nowMs = t0;
    const appId = await registered();
    const owed = makeBatch({ lines: [{ ts: baseTs, text: "owed to b" }] });
    const onlyC = makeBatch({ lines: [{ ts: baseTs, text: "held by c alone" }] });
    expect((await node("a").store.put(appId, owed, { origin: "a", outboxPeers: ["b"], leaseMs: 0 })).ok).toBe(true);
    expect((await node("c").store.put(appId, onlyC, { origin: "c", outboxPeers: [], leaseMs: 0 })).ok).toBe(true);
    const [sealed] = await node("c").replicas.loadSealed([{ appId, batchId: onlyC.batchId }]);
    expect(sealed).toBeDefined();

    nowMs = t0 + retentionDaysDefault * dayMs + 1;
    // The outbox drops what expired instead of sending it.
    await node("a").replicator.runOutboxOnce();
    expect(cluster.node("b").replicated.filter((sent) => sent.batchId === owed.batchId)).toEqual([]);
    expect((await node("a").replicator.backlog()).get("b")?.entries ?? 0).toBe(0);
    // A peer refuses it, and says so: the sender counts it done.
    const applied = await node("b").replicas.apply(sealed as never);
    expect(applied.ok && applied.value).toBe("expired");
    expect(await storedCounts(db("b"), appId)).toEqual({ batches: 0, devices: 0 });
    // Anti-entropy neither pulls it from c nor pushes it anywhere.
    for (const name of ["a", "b", "c"]) {
      for (const report of await node(name).replicator.runAntiEntropyOnce()) {
        expect([report.pulled, report.pushed]).toEqual([0, 0]);
      }
    }
    expect((await storedCounts(db("a"), appId)).batches).toBe(1);
    expect((await storedCounts(db("b"), appId)).batches).toBe(0);
  });

  it("re-files an app's batches when its retention changes, shortening and lengthening", async () => {
    nowMs = t0;
    const appId = await registered();
    const old = makeBatch({ lines: [{ ts: baseTs, text: "received first" }] });
    expect((await node("a").store.put(appId, old)).ok).toBe(true);
    nowMs = t0 + 3 * dayMs;
    const recent = makeBatch({ lines: [{ ts: baseTs, text: "received three days later" }] });
    expect((await node("a").store.put(appId, recent)).ok).toBe(true);

    // Two days: the first batch is past it at once, the second expires two days after receipt.
    const shorter = await node("a").store.changeAppSettings(appId, { retentionDays: 2, updatedAt: nowMs });
    expect(shorter?.retentionDays).toBe(2);
    const page = await node("a").store.readLogs(appId, wholeRead);
    expect(page.ok && page.value.logs.map((line) => line.batchId)).toEqual([recent.batchId]);
    const expiries = async () =>
      (await db("a").select({ expiresAt: batches.expiresAt }).from(batches).where(eq(batches.appId, appId))).map(
        (row) => row.expiresAt.getTime(),
      );
    expect(await expiries()).toEqual([nowMs + 2 * dayMs]);

    // Lengthening moves it later (into a partition made for it); nothing is lost on the way.
    await node("a").store.changeAppSettings(appId, { retentionDays: 90, updatedAt: nowMs + 1 });
    expect(await expiries()).toEqual([nowMs + 90 * dayMs]);
    expect(await listPartitions(db("a"))).toContain(dayOf(nowMs + 90 * dayMs));
    // A batch stored afterwards is filed under the new retention.
    const later = makeBatch({ lines: [{ ts: baseTs, text: "under 90 days" }] });
    expect((await node("a").store.put(appId, later)).ok).toBe(true);
    expect(await expiries()).toEqual([nowMs + 90 * dayMs, nowMs + 90 * dayMs]);
    nowMs = t0;
  });

  it("keeps the latest settings change, in every region, whatever order it hears them in", async () => {
    const appId = await registered();
    const change = (retentionDays: number, updatedAt: number) =>
      node("a").store.changeAppSettings(appId, { retentionDays, updatedAt });
    expect((await change(7, t0 + 100))?.retentionDays).toBe(7);
    expect((await change(3, t0 + 50))?.retentionDays).toBe(7); // older
    expect((await change(5, t0 + 100))?.retentionDays).toBe(7); // as late, shorter
    expect(await change(9, t0 + 100)).toMatchObject({ retentionDays: 9, updatedAt: new Date(t0 + 100).toISOString() });
    expect(await node("a").store.changeAppSettings(testAppId(), { retentionDays: 9, updatedAt: t0 })).toBeNull();

    // b heard an older change of its own; anti-entropy's control merge brings a's to it, not back.
    await node("b").store.changeAppSettings(appId, { retentionDays: 1, updatedAt: t0 + 10 });
    await node("b").replicas.mergeControl(await node("a").replicas.exportControl());
    await node("a").replicas.mergeControl(await node("b").replicas.exportControl());
    expect((await node("b").store.appSettings(appId))?.retentionDays).toBe(9);
    expect((await node("a").store.appSettings(appId))?.retentionDays).toBe(9);

    // A replica that reaches c before the app does is filed under the default; the app's arrival
    // by control merge re-files it under the app's retention.
    nowMs = t0;
    const late = testAppId();
    await node("a").store.upsertApp({ id: late, name: "late", keys: [] });
    await node("a").store.changeAppSettings(late, { retentionDays: 3, updatedAt: t0 });
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "ahead of its app" }] });
    await node("a").store.put(late, batch, { origin: "a", outboxPeers: [], leaseMs: 0 });
    const [sealed] = await node("a").replicas.loadSealed([{ appId: late, batchId: batch.batchId }]);
    expect((await node("c").replicas.apply(sealed as never)).ok).toBe(true);
    await node("c").replicas.mergeControl(await node("a").replicas.exportControl());
    expect((await node("c").store.appSettings(late))?.retentionDays).toBe(3);
    const [row] = await db("c").select({ expiresAt: batches.expiresAt }).from(batches).where(eq(batches.appId, late));
    expect(row?.expiresAt.getTime()).toBe(t0 + 3 * dayMs);
  });

  it("sets retention in every region from the admin CLI, and lists it", async () => {
    nowMs = Date.now(); // regions check the CLI's signature against their clock
    const appId = await registered();
    const admin = {
      regions: cluster.nodes.map(({ name, adminUrl }) => ({ name, url: adminUrl })),
      keySecret: "unused-by-these-calls-0123456789abcdef",
      adminSecret: testSecrets.admin,
    };
    const outcomes = await setRetention(admin, appId, 5);
    expect(outcomes.map((outcome) => outcome.error ?? "ok")).toEqual(["ok", "ok", "ok"]);
    for (const listed of await listApps(admin)) {
      expect(listed.body?.apps.find((app) => app.id === appId)?.retentionDays).toBe(5);
    }
  });

  // Remote logging control rides the same control plane as retention (store/device-settings.ts).
  it("sets remote logging settings in every region from the admin CLI, and shows them", async () => {
    nowMs = Date.now();
    const appId = await registered();
    const admin = {
      regions: cluster.nodes.map(({ name, adminUrl }) => ({ name, url: adminUrl })),
      keySecret: "unused-by-these-calls-0123456789abcdef",
      adminSecret: testSecrets.admin,
    };
    const set = await setDeviceSettings(admin, appId, {
      scope: "device",
      value: "d1",
      enabled: false,
      minLevel: "warn",
    });
    expect(set.map((outcome) => outcome.error ?? "ok")).toEqual(["ok", "ok", "ok"]);
    for (const listed of await listDeviceSettings(admin, appId)) {
      expect(listed.body?.settings).toEqual([
        expect.objectContaining({ scope: "device", value: "d1", enabled: false, minLevel: "warn" }),
      ]);
    }
  });

  it("counts usage per day of receipt from clear metadata, unexpired batches only", async () => {
    nowMs = t0;
    const appId = await registered();
    const lines = (count: number) => Array.from({ length: count }, (_, index) => ({ ts: baseTs + index }));
    await node("a").store.put(appId, makeBatch({ lines: lines(3) }));
    await node("a").store.put(appId, makeBatch({ lines: lines(2) }));
    nowMs = t0 + dayMs;
    await node("a").store.put(appId, makeBatch({ lines: lines(4) }));
    const answer = await node("a").store.usage(appId, {});
    expect(answer.retentionDays).toBe(retentionDaysDefault);
    expect(answer.days.map(({ storedBytes, ...day }) => ({ ...day, bytes: storedBytes > 0 }))).toEqual([
      { day: "2026-06-10", batches: 2, lines: 5, bytes: true, expiresOn: "2026-07-10" },
      { day: "2026-06-11", batches: 1, lines: 4, bytes: true, expiresOn: "2026-07-11" },
    ]);
    expect(answer.totals).toMatchObject({ batches: 3, lines: 9 });
    expect(answer.totals.storedBytes).toBe(answer.days.reduce((sum, day) => sum + day.storedBytes, 0));
    const oneDay = await node("a").store.usage(appId, { from: "2026-06-11", to: "2026-06-11" });
    expect(oneDay.days.map((day) => day.day)).toEqual(["2026-06-11"]);
    nowMs = t0;
  });
});
