// Digests kept on write (format 2) on both drivers: after every kind of change to `batches` (an
// upload, a replica that replaces a version, an erasure, a retention change that re-files or
// deletes, a partition dropped by expiry) they equal digests computed afresh, here in JS, from
// the rows the table holds; a bucket any of whose batches may have expired is left out.
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newErasureId } from "../../shared/lifecycle.ts";
import type { BucketDigest } from "../../shared/replication.ts";
import { batches } from "../db/schema/index.ts";
import type { Region } from "../region.ts";
import { makeBatch } from "../testing/fixtures.ts";
import { createTestDatabase, drivers, startTestRegion, type TestDatabase, testAppId } from "../testing/harness.ts";
import { dayMs, dayOf, rowsOf } from "./partitions.ts";

const hourMs = 3_600_000;
const t0 = Date.UTC(2026, 5, 10, 15, 20, 0);

describe.each(drivers)("digests kept on write on %s", (kind) => {
  let database: TestDatabase;
  let region: Region;
  let nowMs = t0;
  const clock = { now: () => nowMs };
  const appId = testAppId();

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    region = await startTestRegion(database, {}, { clock });
    await region.store.upsertApp({ id: appId, name: "digested", keys: [] });
  });
  afterAll(async () => {
    await region?.close();
    await database?.drop();
  });

  /** The digests of the rows held, by the definition (store/digests.ts), without the table. */
  async function afresh(): Promise<BucketDigest[]> {
    const rows = await region.database.db
      .select({
        appId: batches.appId,
        batchId: batches.batchId,
        origin: batches.origin,
        receivedAt: batches.receivedAt,
        expiresAt: batches.expiresAt,
      })
      .from(batches);
    const buckets = new Map<string, { appId: string; hour: number; count: number; hash: bigint; day: number }>();
    for (const row of rows) {
      const hour = Math.floor(row.receivedAt.getTime() / hourMs);
      const md5 = createHash("md5").update(`${row.batchId}:${row.origin}:${row.receivedAt.getTime()}`).digest("hex");
      const key = `${row.appId}:${String(hour).padStart(10, "0")}`;
      const bucket = buckets.get(key) ?? { appId: row.appId, hour, count: 0, hash: 0n, day: Number.POSITIVE_INFINITY };
      bucket.count += 1;
      bucket.hash ^= BigInt(`0x${md5}`);
      bucket.day = Math.min(bucket.day, dayOf(row.expiresAt.getTime()));
      buckets.set(key, bucket);
    }
    return [...buckets.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .filter(([, bucket]) => bucket.day > dayOf(nowMs))
      .map(([, { appId, hour, count, hash }]) => ({ appId, hour, count, hash: hash.toString(16).padStart(32, "0") }));
  }

  async function expectDigestsRight(): Promise<BucketDigest[]> {
    const held = await region.replicas.heldDigests();
    expect(held).toEqual(await afresh());
    return held;
  }

  async function putAt(atMs: number, deviceId: string, text: string) {
    nowMs = atMs;
    const batch = makeBatch({ deviceId, lines: [{ ts: atMs, text }] });
    expect((await region.store.put(appId, batch, { origin: "a", outboxPeers: [], leaseMs: 0 })).ok).toBe(true);
    return batch;
  }

  it("follow uploads, replaced replicas, erasures, re-filing and expiry", async () => {
    for (const hoursAgo of [30, 20, 5, 5, 3, 1]) {
      await putAt(t0 - hoursAgo * hourMs, "phone-1", `one ${hoursAgo}`);
      await putAt(t0 - hoursAgo * hourMs + 60_000, "phone-2", `two ${hoursAgo}`);
    }
    nowMs = t0;
    const uploaded = await expectDigestsRight();
    expect(uploaded.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(12);
    // The same holdings as the previous format counts them.
    expect((await region.replicas.digests()).map(({ hour, count }) => [hour, count])).toEqual(
      uploaded.map(({ hour, count }) => [hour, count]),
    );
    // Only the hours asked for.
    expect(
      (await region.replicas.heldDigests({ hour: Math.floor(t0 / hourMs) - 3 })).map((bucket) => bucket.hour),
    ).toEqual([Math.floor(t0 / hourMs) - 30, Math.floor(t0 / hourMs) - 20, Math.floor(t0 / hourMs) - 5]);

    // A replica received earlier elsewhere replaces the version held: another hour, another day.
    const later = await putAt(t0 - hourMs, "phone-2", "contested");
    nowMs = t0;
    const [sealed] = await region.replicas.loadSealed([{ appId, batchId: later.batchId }]);
    if (!sealed) throw new Error("not stored");
    const earlier = { ...sealed, origin: "b", receivedAt: t0 - 40 * hourMs };
    expect(await region.replicas.apply(earlier)).toEqual({ ok: true, value: "replaced" });
    await expectDigestsRight();

    const erasure = { id: newErasureId(), appId, deviceId: "phone-1", requestedAt: new Date(nowMs).toISOString() };
    expect((await region.store.erase(erasure))?.completedAt).toBeTruthy();
    const erased = await expectDigestsRight();
    expect(erased.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(7);

    // Re-filed under a longer retention (rows move partitions), then a one-day retention, which
    // deletes what is past it and leaves the rest expiring tomorrow or today.
    expect((await region.store.changeAppSettings(appId, { retentionDays: 60, updatedAt: nowMs }))?.retentionDays).toBe(
      60,
    );
    await expectDigestsRight();
    expect(
      (await region.store.changeAppSettings(appId, { retentionDays: 1, updatedAt: nowMs + 1 }))?.retentionDays,
    ).toBe(1);
    const shortened = await expectDigestsRight();
    // Received 20 hours ago, it expires today: its bucket is not answered.
    expect(shortened.map((bucket) => Math.floor(t0 / hourMs) - bucket.hour)).toEqual([5, 3, 1]);

    // Two days on, every partition left has passed: dropped with its digest rows.
    nowMs = t0 + 2 * dayMs;
    expect((await region.store.expire(600_000)).partitionsDropped).toBeGreaterThan(0);
    expect(await expectDigestsRight()).toEqual([]);
    const left = rowsOf<{ rows: number | string }>(
      await region.database.db.execute(
        sql`select count(*) as rows from bucket_digests where expires_day <= ${dayOf(nowMs) - 1}`,
      ),
    );
    expect(Number(left[0]?.rows)).toBe(0);

    // And a new upload after all that counts from zero again.
    await putAt(nowMs - 2 * hourMs, "phone-2", "after expiry");
    nowMs = t0 + 2 * dayMs;
    expect((await expectDigestsRight()).map((bucket) => bucket.count)).toEqual([1]);
  });

  it("answer the hour still running minute by minute, and fold older hours into a row each", async () => {
    const app = testAppId();
    await region.store.upsertApp({ id: app, name: "by the minute", keys: [] });
    const t1 = t0 + 5 * dayMs; // 15:20
    const put = async (atMs: number) => {
      nowMs = atMs;
      const batch = makeBatch({ lines: [{ ts: atMs, text: "minute" }] });
      expect((await region.store.put(app, batch, { origin: "a", outboxPeers: [], leaseMs: 0 })).ok).toBe(true);
      return { batchId: batch.batchId, atMs };
    };
    const twoHoursAgo = await put(t1 - 2 * hourMs);
    const minute10 = [await put(t1 - 10 * 60_000), await put(t1 - 10 * 60_000 + 5_000)];
    const minute17 = await put(t1 - 3 * 60_000);
    await put(t1 - 30_000); // 15:19:30, after the horizon
    nowMs = t1;
    const hour = Math.floor(t1 / hourMs);
    const digest = (held: { batchId: string; atMs: number }[]) => {
      let hash = 0n;
      for (const { batchId, atMs } of held) {
        hash ^= BigInt(`0x${createHash("md5").update(`${batchId}:a:${atMs}`).digest("hex")}`);
      }
      return { count: held.length, hash: hash.toString(16).padStart(32, "0") };
    };

    const settled = t1 - 120_000; // 15:18
    const ofApp = (await region.replicas.heldDigests({ hour, minute: Math.floor(settled / 60_000) })).filter(
      (bucket) => bucket.appId === app,
    );
    expect(ofApp).toEqual([
      { appId: app, hour: hour - 2, ...digest([twoHoursAgo]) },
      { appId: app, hour, minute: 10, ...digest(minute10) },
      { appId: app, hour, minute: 17, ...digest([minute17]) },
    ]);
    // Asked without minutes (a previous version's ask), the same hours as before.
    expect((await region.replicas.heldDigests({ hour })).filter((bucket) => bucket.appId === app)).toEqual([
      { appId: app, hour: hour - 2, ...digest([twoHoursAgo]) },
    ]);

    // Hours later the running hour's minute rows are folded into one, and it still adds up.
    nowMs = t1 + 3 * hourMs;
    await expectDigestsRight();
    const detail = rowsOf<{ rows: number | string }>(
      await region.database.db.execute(
        sql`select count(*) as rows from bucket_digests where app_id = ${app} and minute <> -1`,
      ),
    );
    expect(Number(detail[0]?.rows)).toBe(0);
  });
});
