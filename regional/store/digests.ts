/**
 * What a region holds, summarized per app and hour of receipt: a count and an MD5 over the sorted
 * `batchId:origin:receivedAt` of the bucket. Equal digests mean equal holdings (the same versions
 * too); anti-entropy lists the entries of only the buckets that differ. Expired batches count
 * nowhere, so two regions agree whether or not their partition was dropped yet, and no region
 * pushes or pulls one. MD5 is a checksum here,
 * over ids and times only, never over log content.
 */
import { and, asc, eq, gte, lt, or, sql } from "drizzle-orm";
import { batches } from "../db/schema/index.ts";
import { versionColumns } from "./batch-row.ts";
import { unexpired } from "./expiry.ts";
import type { BatchStore, ReplicaStore, StoreDeps } from "./types.ts";

const hourMs = 3_600_000;
const hourOf = sql<number>`floor(extract(epoch from ${batches.receivedAt}) / 3600)::int`;

/** `ReplicaStore.digests`. */
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
