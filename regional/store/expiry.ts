/**
 * When a batch expires, and the lock its writers take. A batch expires `retentionDays` (the app's,
 * store/settings.ts) after it was received at its origin, so every region files it under the same
 * day; from that moment no read returns it (`unexpired`), and the lifecycle loop drops its
 * partition once the whole day has passed (partitions.ts).
 *
 * Writers of one batch id (put-batch.ts, replica.ts) serialize on an advisory lock of the id: the
 * table is partitioned by expiry, so no unique index can say that an id is stored once per app,
 * and a retry of a batch arrives with another receivedAt (so another expiry). Under the lock a
 * writer looks the id up in every partition and inserts only when it is absent. The same
 * statement reads the app's retention `FOR SHARE`, so a retention change (which locks the app row
 * to re-file its batches) cannot slip between reading the retention and inserting with it.
 */
import { and, eq, gt, sql } from "drizzle-orm";
import { retentionDaysDefault } from "../../shared/lifecycle.ts";
import type { Database, Transaction } from "../db/client.ts";
import { apps, batches } from "../db/schema/index.ts";
import { dayMs, rowsOf } from "./partitions.ts";

export function expiresAtMs(receivedAtMs: number, retentionDays: number): number {
  return receivedAtMs + retentionDays * dayMs;
}

/** Batches still readable at `nowMs`: every read of `batches` adds it. */
export function unexpired(nowMs: number) {
  return gt(batches.expiresAt, new Date(nowMs));
}

/** One batch id of one app, unexpired at `nowMs`, in whichever partition it is. */
export function storedBatch(appId: string, batchId: string, nowMs: number) {
  return and(eq(batches.appId, appId), eq(batches.batchId, batchId), unexpired(nowMs));
}

/** The app's retention in days; the default for an app this region does not know (yet). */
export async function retentionDaysOf(db: Database | Transaction, appId: string): Promise<number> {
  const [row] = await db.select({ retentionDays: apps.retentionDays }).from(apps).where(eq(apps.id, appId));
  return row?.retentionDays ?? retentionDaysDefault;
}

/**
 * Takes the batch id's lock for the rest of the transaction and answers the app's retention as of
 * now (the app row locked `FOR SHARE` until the transaction ends).
 */
export async function lockBatchId(tx: Transaction, appId: string, batchId: string): Promise<number> {
  const result = await tx.execute<{ retention_days: number | null }>(sql`
    select pg_advisory_xact_lock(hashtextextended(${appId} || '/' || ${batchId}, 0)),
      (select ${apps.retentionDays} from ${apps} where ${apps.id} = ${appId} for share) as retention_days`);
  const [row] = rowsOf<{ retention_days: number | null }>(result);
  return row?.retention_days ?? retentionDaysDefault;
}

/** Thrown inside a write's transaction when the retention changed since the write filed its row. */
export class RetentionChanged extends Error {
  override readonly name = "RetentionChanged";
}

/**
 * Runs a write with the app's retention, again if a retention change committed between reading it
 * and the write's transaction (the write then throws `RetentionChanged`), so a row is never filed
 * under a retention the app no longer has.
 */
export async function withRetention<T>(
  db: Database,
  appId: string,
  write: (retentionDays: number) => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await write(await retentionDaysOf(db, appId));
    } catch (error) {
      if (!(error instanceof RetentionChanged)) throw error;
    }
  }
}
