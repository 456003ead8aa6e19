/**
 * The `batches` partitions: one per UTC day a batch expires on, named `batches_pYYYYMMDD` and
 * holding expires_at in [that day, the next day). Migration 0004 made the table partitioned; the
 * region creates partitions ahead (before a row needs one: `ensurePartitions`, by the store's
 * writes and by the lifecycle loop for the days the apps' retentions will need) and drops them
 * behind (`dropExpiredPartitions`, once a partition's upper bound has passed), so expiring a day
 * costs one DROP TABLE whatever it holds.
 *
 * Several processes may share one PostgreSQL database: creating is `CREATE TABLE IF NOT EXISTS`
 * under an advisory lock (two concurrent creates of one table could otherwise both pass the "not
 * exists" check and one fail on the catalog), and dropping is `DROP TABLE IF EXISTS`.
 */
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { databaseFailure } from "../db/errors.ts";

export const dayMs = 86_400_000;

/** Days as whole days since the epoch (UTC), the unit partitions are cut by. */
export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / dayMs);
}

/** A day as YYYY-MM-DD. */
export function isoDay(day: number): string {
  return new Date(day * dayMs).toISOString().slice(0, 10);
}

export function partitionName(day: number): string {
  return `batches_p${isoDay(day).replaceAll("-", "")}`;
}

/** Days whose partition this process has created or seen, per database; saves a statement per write. */
const knownDays = new WeakMap<Database, Set<number>>();

function known(db: Database): Set<number> {
  let days = knownDays.get(db);
  if (!days) {
    days = new Set();
    knownDays.set(db, days);
  }
  return days;
}

/**
 * Creating or dropping a partition locks the whole `batches` table for a moment, and waits for
 * reads still running on it; while it waits every new statement on `batches` queues behind it. So
 * neither waits longer than this for its lock: a drop is left to the next lifecycle run, a create
 * fails its write (which the edge retries in another region).
 */
const lockTimeoutMs = 2000;

/** Any advisory-lock key will do as long as every process uses the same one for this. */
const partitionLockKey = 0x5_70_12_1d;

/**
 * Makes sure a partition exists for each of these days (epoch days, `dayOf`). Outside any batch
 * transaction: creating a partition locks the whole `batches` table (and waits for reads running on
 * it), so it is done only for a day that does not exist yet, normally by the lifecycle run ahead of
 * time, and gives up after `lockTimeoutMs` rather than hold every statement on `batches` up.
 */
export async function ensurePartitions(db: Database, days: Iterable<number>): Promise<void> {
  const knownDays = known(db);
  const wanted = [...new Set(days)];
  if (wanted.every((day) => knownDays.has(day))) return;
  // Another process (or an earlier run of this one) may have created them: the catalog says so
  // without taking any lock on the table.
  for (const day of await listPartitions(db)) knownDays.add(day);
  const missing = wanted.filter((day) => !knownDays.has(day));
  if (missing.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${partitionLockKey})`);
    await tx.execute(sql.raw(`set local lock_timeout = ${lockTimeoutMs}`));
    for (const day of missing) {
      const from = new Date(day * dayMs).toISOString();
      const to = new Date((day + 1) * dayMs).toISOString();
      await tx.execute(
        sql.raw(
          `create table if not exists "${partitionName(day)}" partition of "batches" for values from ('${from}') to ('${to}')`,
        ),
      );
    }
  });
  for (const day of missing) knownDays.add(day);
}

/** The partitions that exist, as epoch days, in order. */
export async function listPartitions(db: Database): Promise<number[]> {
  const rows = await db.execute<{ name: string }>(sql`
    select child.relname as name
    from pg_inherits
    join pg_class parent on parent.oid = pg_inherits.inhparent
    join pg_class child on child.oid = pg_inherits.inhrelid
    join pg_namespace ns on ns.oid = parent.relnamespace
    where parent.relname = 'batches' and ns.nspname = current_schema()`);
  return rowsOf<{ name: string }>(rows)
    .map((row) => /^batches_p(\d{4})(\d{2})(\d{2})$/.exec(row.name))
    .filter((match) => match !== null)
    .map((match) => dayOf(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))))
    .sort((a, b) => a - b);
}

/**
 * Drops every partition whose upper bound is at or before `nowMs`: all it holds has expired, and
 * reads stopped returning it when each row's expires_at passed. Answers the days dropped; a day
 * whose drop timed out on its lock is left for the next run. The day's digest rows go in the same
 * transaction, so the digests stay those of what the table holds.
 */
export async function dropExpiredPartitions(db: Database, nowMs: number): Promise<number[]> {
  const expired = (await listPartitions(db)).filter((day) => (day + 1) * dayMs <= nowMs);
  const dropped: number[] = [];
  for (const day of expired) {
    try {
      await db.transaction(async (tx) => {
        await tx.execute(sql.raw(`set local lock_timeout = ${lockTimeoutMs}`));
        await tx.execute(sql.raw(`drop table if exists "${partitionName(day)}"`));
        // Dropping fires no trigger: the day's digest rows (store/digests.ts) go with it here.
        await tx.execute(sql`delete from bucket_digests where expires_day = ${day}`);
      });
    } catch (error) {
      if (databaseFailure(error)?.sqlState === lockNotAvailable) continue;
      throw error;
    }
    known(db).delete(day);
    dropped.push(day);
  }
  return dropped;
}

/** SQLSTATE 55P03, what a lock_timeout raises. */
const lockNotAvailable = "55P03";

/** postgres.js answers an array of rows, PGlite an object with `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows: T[] }).rows ?? []);
}
