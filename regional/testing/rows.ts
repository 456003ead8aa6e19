/** Direct looks at the tables, for tests that check what was (not) stored. */
import { count, eq, sql } from "drizzle-orm";
import type { Database, Transaction } from "../db/client.ts";
import { batches, devices } from "../db/schema/index.ts";
import { rowsOf } from "../store/partitions.ts";

export async function storedCounts(db: Database, appId: string): Promise<{ batches: number; devices: number }> {
  const [batchRows] = await db.select({ n: count() }).from(batches).where(eq(batches.appId, appId));
  const [deviceRows] = await db.select({ n: count() }).from(devices).where(eq(devices.appId, appId));
  return { batches: batchRows?.n ?? 0, devices: deviceRows?.n ?? 0 };
}

/**
 * Sequential scans in this transaction so far (PostgreSQL's per-transaction counters) of the tables
 * whose names match `pattern` (SQL `like`; by default `batches`' partitions): a lookup by key adds
 * none, however many rows the tables hold.
 */
export async function sequentialScans(tx: Transaction, pattern = "batches\\_p%"): Promise<number> {
  const [row] = rowsOf<{ scans: number }>(
    await tx.execute(
      sql`select coalesce(sum(seq_scan), 0)::int as scans from pg_stat_xact_user_tables where relname like ${pattern}`,
    ),
  );
  return row?.scans ?? 0;
}
