/**
 * What a region holds, summarized per app and hour of receipt (and for the hour still running,
 * per minute), for anti-entropy and `admin verify`; equal digests mean equal holdings (the same
 * versions too), and anti-entropy lists the entries of only the buckets that differ. Two formats
 * (shared/replication.ts):
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
import { and, asc, eq, gte, lt, or, type SQL, sql } from "drizzle-orm";
import type { BucketDigest } from "../../shared/replication.ts";
import { batches } from "../db/schema/index.ts";
import { versionColumns } from "./batch-row.ts";
import { unexpired } from "./expiry.ts";
import { dayOf, rowsOf } from "./partitions.ts";
import type { BatchStore, ReplicaStore, StoreDeps } from "./types.ts";

const hourMs = 3_600_000;
const minuteMs = 60_000;
const hourOf = sql<number>`floor(extract(epoch from ${batches.receivedAt}) / 3600)::int`;

/** `ReplicaStore.heldDigests`: format 2 (see `ReplicaStore`). */
export function heldDigests({ db, clock }: StoreDeps): ReplicaStore["heldDigests"] {
  return async (before) => {
    await foldDigests(db, clock.now());
    const hours = await bucketsOf(db, clock.now(), sql`hour`, before ? sql`where hour < ${before.hour}` : sql``);
    if (before?.minute === undefined) return hours;
    const firstMinute = before.hour * 60;
    const minutes = await bucketsOf(
      db,
      clock.now(),
      sql`hour, minute`,
      sql`where hour = ${before.hour} and minute >= 0 and minute < ${before.minute - firstMinute}`,
    );
    return [...hours, ...minutes].sort((a, b) =>
      a.appId !== b.appId ? (a.appId < b.appId ? -1 : 1) : a.hour - b.hour || (a.minute ?? -1) - (b.minute ?? -1),
    );
  };
}

/**
 * The buckets (`key`: `hour`, or `hour, minute`) of the digest rows `where` picks. Rows of a
 * bucket and expiry day that cancel out (a batch moved to another partition and back, or gone) say
 * nothing: left out before asking whether any of the bucket may expire.
 */
async function bucketsOf(db: StoreDeps["db"], nowMs: number, key: SQL, where: SQL): Promise<BucketDigest[]> {
  const rows = rowsOf<{ appId: string; hour: number; minute?: number; count: number | string; hash: string }>(
    await db.execute(sql`
      select app_id as "appId", ${key}, sum(batches)::int as count,
        lpad(to_hex(bit_xor(high)), 16, '0') || lpad(to_hex(bit_xor(low)), 16, '0') as hash
      from (
        select app_id, ${key}, expires_day, sum(batches) as batches,
          bit_xor(hash_high) as high, bit_xor(hash_low) as low
        from bucket_digests ${where}
        group by app_id, ${key}, expires_day
        having sum(batches) <> 0 or bit_xor(hash_high) <> 0 or bit_xor(hash_low) <> 0
      ) as days
      group by app_id, ${key}
      having min(expires_day) > ${dayOf(nowMs)}
      order by app_id, ${key}`),
  );
  return rows.map(({ appId, hour, minute, count, hash }) => ({
    appId,
    hour: Number(hour),
    ...(minute === undefined ? {} : { minute: Number(minute) }),
    count: Number(count),
    hash,
  }));
}

/**
 * Folds each bucket and expiry day's rows into one (none when they cancel out), so the table
 * holds about a row per bucket and day plus what was written since the last read; the rows of the
 * last two hours stay one per minute (anti-entropy compares the hour the settling horizon falls in
 * minute by minute), older ones become one per hour (minute -1). Safe beside writers and other
 * folds: it removes only rows it sees and writes back exactly their sum, and a row another fold
 * removed first is neither removed nor summed again here.
 */
export async function foldDigests(db: StoreDeps["db"], nowMs: number): Promise<void> {
  // Inlined, not bound: GROUP BY matches the select list's expression only if the text is equal.
  const detailFrom = sql.raw(String(Math.floor(nowMs / hourMs) - 1));
  const minuteKept = sql`case when hour < ${detailFrom} then -1 else minute end`;
  await db.execute(sql`
    with folded as (
      delete from bucket_digests d
      using (
        select app_id, hour, ${minuteKept} as minute, expires_day from bucket_digests
        group by app_id, hour, ${minuteKept}, expires_day
        having count(*) > 1 or bool_or(minute <> ${minuteKept})
          or (sum(batches) = 0 and bit_xor(hash_high) = 0 and bit_xor(hash_low) = 0)
      ) as many
      where d.app_id = many.app_id and d.hour = many.hour and d.expires_day = many.expires_day
        and case when d.hour < ${detailFrom} then -1 else d.minute end = many.minute
      returning d.*
    )
    insert into bucket_digests (app_id, hour, minute, expires_day, batches, hash_high, hash_low)
    select app_id, hour, ${minuteKept}, expires_day, sum(batches), bit_xor(hash_high), bit_xor(hash_low)
    from folded
    group by app_id, hour, ${minuteKept}, expires_day
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
            ...buckets.map((bucket) => {
              const [fromMs, toMs] =
                bucket.minute === undefined
                  ? [bucket.hour * hourMs, (bucket.hour + 1) * hourMs]
                  : [
                      bucket.hour * hourMs + bucket.minute * minuteMs,
                      bucket.hour * hourMs + (bucket.minute + 1) * minuteMs,
                    ];
              return and(
                eq(batches.appId, bucket.appId),
                gte(batches.receivedAt, new Date(fromMs)),
                lt(batches.receivedAt, new Date(toMs)),
              );
            }),
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
