/**
 * What a region holds, summarized per app and hour of receipt, for anti-entropy and `admin
 * verify`; equal digests mean equal holdings (the same versions too), and anti-entropy lists the
 * entries of only the buckets that differ. Two formats (shared/replication.ts):
 *
 * - format 2 (`heldDigests`), read from `bucket_digests`, which triggers on `batches` keep in the
 *   transaction of every change (schema/bucket-digests.ts), so a read costs what the buckets and
 *   the changes since the last read cost, not what the table holds. A bucket is answered only
 *   when none of its batches can have expired (all of them expire after today), so two regions
 *   agree whether or not a partition was dropped yet; on the day its batches expire it is left out.
 * - format 1 (`bucketDigests`), the previous version's: an MD5 over the sorted versions of every
 *   unexpired batch, computed from the whole table on every ask. Kept for peers of that version
 *   during a rolling upgrade (they ask without `format`), and for a region asking them.
 *
 * MD5 is a checksum here, over ids and times only, never over log content.
 */
import { and, asc, eq, gte, lt, or, sql } from "drizzle-orm";
import { batches } from "../db/schema/index.ts";
import { versionColumns } from "./batch-row.ts";
import { unexpired } from "./expiry.ts";
import { dayOf, rowsOf } from "./partitions.ts";
import type { BatchStore, ReplicaStore, StoreDeps } from "./types.ts";

const hourMs = 3_600_000;
const hourOf = sql<number>`floor(extract(epoch from ${batches.receivedAt}) / 3600)::int`;

/** `ReplicaStore.heldDigests`: format 2, before `beforeHour` (every hour when undefined). */
export function heldDigests({ db, clock }: StoreDeps): ReplicaStore["heldDigests"] {
  return async (beforeHour) => {
    await foldDigests(db);
    const before = beforeHour === undefined ? sql`` : sql`where hour < ${beforeHour}`;
    // Rows of a bucket and expiry day that cancel out (a batch moved to another partition and
    // back, or gone) say nothing: left out before asking whether any of the bucket may expire.
    const rows = rowsOf<{ appId: string; hour: number; count: number | string; hash: string }>(
      await db.execute(sql`
        select app_id as "appId", hour, sum(batches)::int as count,
          lpad(to_hex(bit_xor(high)), 16, '0') || lpad(to_hex(bit_xor(low)), 16, '0') as hash
        from (
          select app_id, hour, expires_day, sum(batches) as batches,
            bit_xor(hash_high) as high, bit_xor(hash_low) as low
          from bucket_digests ${before}
          group by app_id, hour, expires_day
          having sum(batches) <> 0 or bit_xor(hash_high) <> 0 or bit_xor(hash_low) <> 0
        ) as days
        group by app_id, hour
        having min(expires_day) > ${dayOf(clock.now())}
        order by app_id, hour`),
    );
    return rows.map((row) => ({ appId: row.appId, hour: Number(row.hour), count: Number(row.count), hash: row.hash }));
  };
}

/**
 * Folds each bucket and expiry day's rows into one (none when they cancel out), so the table
 * holds about a row per bucket and day plus what was written since the last read. Safe beside
 * writers and other folds: it removes only rows it sees and writes back exactly their sum, and a
 * row another fold removed first is neither removed nor summed again here.
 */
export async function foldDigests(db: StoreDeps["db"]): Promise<void> {
  await db.execute(sql`
    with folded as (
      delete from bucket_digests d
      using (
        select app_id, hour, expires_day from bucket_digests
        group by app_id, hour, expires_day
        having count(*) > 1 or (sum(batches) = 0 and bit_xor(hash_high) = 0 and bit_xor(hash_low) = 0)
      ) as many
      where d.app_id = many.app_id and d.hour = many.hour and d.expires_day = many.expires_day
      returning d.*
    )
    insert into bucket_digests (app_id, hour, expires_day, batches, hash_high, hash_low)
    select app_id, hour, expires_day, sum(batches), bit_xor(hash_high), bit_xor(hash_low)
    from folded
    group by app_id, hour, expires_day
    having sum(batches) <> 0 or bit_xor(hash_high) <> 0 or bit_xor(hash_low) <> 0`);
}

/** `ReplicaStore.digests`: format 1, for a peer of the previous version (see the header). */
export function bucketDigests({ db, clock }: StoreDeps): ReplicaStore["digests"] {
  return async () => {
    const version = sql`${batches.batchId} || ':' || ${batches.origin} || ':' || floor(extract(epoch from ${batches.receivedAt}) * 1000)::bigint`;
    const rows = await db
      .select({
        appId: batches.appId,
        hour: hourOf,
        count: sql<number>`count(*)::int`,
        hash: sql<string>`md5(string_agg(${version}, ',' order by ${batches.batchId}))`,
      })
      .from(batches)
      .where(unexpired(clock.now()))
      .groupBy(batches.appId, hourOf)
      .orderBy(asc(batches.appId), asc(hourOf));
    return rows.map((row) => ({ ...row, hour: Number(row.hour), count: Number(row.count) }));
  };
}

/** `ReplicaStore.entries`: the versions in the given buckets. */
export function bucketEntries({ db, clock }: StoreDeps): ReplicaStore["entries"] {
  return async (buckets) => {
    if (buckets.length === 0) return [];
    const rows = await db
      .select(versionColumns)
      .from(batches)
      .where(
        and(
          unexpired(clock.now()),
          or(
            ...buckets.map((bucket) =>
              and(
                eq(batches.appId, bucket.appId),
                gte(batches.receivedAt, new Date(bucket.hour * hourMs)),
                lt(batches.receivedAt, new Date((bucket.hour + 1) * hourMs)),
              ),
            ),
          ),
        ),
      );
    return rows.map((row) => ({ ...row, receivedAt: row.receivedAt.getTime() }));
  };
}

/**
 * `BatchStore.appDigest`: one app's holdings as one count and MD5 (the same versions as the
 * buckets above), which the edge compares across regions for the console (`GET /v1/regions`).
 * It reads every version id of the app, so it is for a person looking, not for a hot path.
 */
export function appDigest({ db, clock }: StoreDeps): BatchStore["appDigest"] {
  return async (appId) => {
    const version = sql`${batches.batchId} || ':' || ${batches.origin} || ':' || floor(extract(epoch from ${batches.receivedAt}) * 1000)::bigint`;
    const [row] = await db
      .select({
        count: sql<number>`count(*)::int`,
        hash: sql<string>`coalesce(md5(string_agg(${version}, ',' order by ${batches.batchId})), md5(''))`,
      })
      .from(batches)
      .where(and(eq(batches.appId, appId), unexpired(clock.now())));
    return { batches: Number(row?.count ?? 0), digest: row?.hash ?? "" };
  };
}
