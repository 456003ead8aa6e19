/**
 * When a batch expires, and the lock its writers take. A batch expires `retentionDays` (the app's,
 * store/settings.ts) after it was received at its origin, so every region files it under the same
 * day; from that moment no read returns it (`unexpired`), and the lifecycle loop drops its
 * partition once the whole day has passed (partitions.ts).
 *
 * Writers of one batch id (put-batch.ts, replica.ts) serialize on an advisory lock of the id: the
 * table is partitioned by expiry, so no unique index can say that an id is stored once per app,
 * and a retry of a batch arrives with another receivedAt (so another expiry). Under the lock a
 * writer looks the id up in every partition and inserts only when it is absent.
 *
 * The same statement takes the app's advisory lock in shared mode, which a retention change takes
 * exclusively while it re-files the app's batches (settings.ts): so a write reads the retention
 * after any change has committed and files its row under it, and no change runs while a write
 * holds the old value. Advisory locks live in memory; a row lock on the app (`FOR SHARE`) would
 * write the app's row on every batch stored.
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

/** The app's advisory lock key (seed 1, apart from the batch ids' seed 0). */
function appLock(appId: string) {
  return sql`hashtextextended(${appId}, 1)`;
}

/**
 * Takes the batch id's lock and the app's shared lock for the rest of the transaction, then
 * answers the app's retention as of now. Two statements: a statement's snapshot is taken before it
 * waits for a lock, so the retention is read by the next one.
 */
export async function lockBatchId(tx: Transaction, appId: string, batchId: string): Promise<number> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${appId} || '/' || ${batchId}, 0)),
    pg_advisory_xact_lock_shared(${appLock(appId)})`);
  return retentionDaysOf(tx, appId);
}

/** For a retention change: no write of the app's batches runs until the transaction ends. */
export async function lockAppExclusively(tx: Transaction, appId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${appLock(appId)})`);
}

/** Thrown inside a write's transaction when the retention changed since the write filed its row. */
export class RetentionChanged extends Error {
  override readonly name = "RetentionChanged";
  readonly retentionDays: number;
  constructor(retentionDays: number) {
    super(`retention is now ${retentionDays} days`);
    this.retentionDays = retentionDays;
  }
}

/** Each app's retention as this process last read it, per database: saves a statement per write. */
const lastRetention = new WeakMap<Database, Map<string, number>>();

/**
 * Runs a write with the app's retention as last seen here, again with the new one if it changed
 * meanwhile (the write, reading it under the app's lock, throws `RetentionChanged`), so a row is
 * never filed under a retention the app no longer has.
 */
export async function withRetention<T>(
  db: Database,
  appId: string,
  write: (retentionDays: number) => Promise<T>,
): Promise<T> {
  const known = knownRetention(db);
  for (;;) {
    const retentionDays = known.get(appId) ?? (await retentionDaysOf(db, appId));
    known.set(appId, retentionDays);
    try {
      return await write(retentionDays);
    } catch (error) {
      if (!(error instanceof RetentionChanged)) throw error;
      known.set(appId, error.retentionDays);
    }
  }
}

/** The retentions this process last read, per app (`withRetention`; the group commit, put-batch.ts). */
export function knownRetention(db: Database): Map<string, number> {
  let known = lastRetention.get(db);
  if (!known) {
    known = new Map();
    lastRetention.set(db, known);
  }
  return known;
}

/**
 * Takes the locks of several batch ids (in one order, so two groups cannot deadlock) and their
 * apps' shared locks, as `lockBatchId` does for one, then answers which of the ids are held here
 * unexpired, as `appId/batchId`, and each app's retention as of now: one call to the database
 * function `lock_batch_ids` (migrations 0012, 0013), where it was three statements, each a round of
 * calls into PGlite. It looks each id up in every partition by its key, and keeps its plans for the
 * connection (planned again only when a partition comes or goes). The locks order the sessions on
 * the database; `soleSession` (PGlite, `StoreDeps`), where transactions already run one at a time,
 * leaves them out.
 */
export async function lockBatchIds(
  tx: Transaction,
  keys: readonly { appId: string; batchId: string }[],
  nowMs: number,
  soleSession = false,
): Promise<{ held: Set<string>; retention: Map<string, number> }> {
  const rows = rowsOf<{ app_id: string; batch_id: string; held: boolean; retention_days: number | null }>(
    await tx.execute(
      sql`select app_id, batch_id, held, retention_days from lock_batch_ids(${new Date(nowMs).toISOString()}, ${sql.param(
        keys.map((key) => key.appId),
      )}::text[], ${sql.param(keys.map((key) => key.batchId))}::text[], ${!soleSession})`,
    ),
  );
  const held = new Set<string>();
  const retention = new Map<string, number>();
  for (const row of rows) {
    if (row.held) held.add(`${row.app_id}/${row.batch_id}`);
    retention.set(row.app_id, row.retention_days ?? retentionDaysDefault);
  }
  return { held, retention };
}
