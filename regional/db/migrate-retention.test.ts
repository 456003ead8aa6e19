// Migration 0004 on a database that already holds batches (PGlite and PostgreSQL): every row moves
// into the partition of the day it expires on under the default retention, with its stored bytes,
// its device gets an expiry, and `batches` keeps every index it had.
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { listPartitions, rowsOf } from "../store/partitions.ts";
import { createTestDatabase, drivers, type TestDatabase } from "../testing/harness.ts";
import { seedBefore } from "../testing/migrations.ts";
import { openDatabase } from "./client.ts";

const at = "'2026-11-20T08:30:00.000Z'";

const oldRows = `
  insert into apps (id, name) values ('0123456789abcdef', 'old');
  insert into batches (app_id, batch_id, device_id, received_at, first_ts, last_ts, line_count,
    trace_count, debug_count, info_count, warn_count, error_count, fatal_count, key_id, wrapped_key,
    ciphertext, origin, seal_format)
  values ('0123456789abcdef', 'old-1', 'phone', ${at}, ${at}, ${at}, 2, 0, 0, 2, 0, 0, 0,
    'k1', '\\x0102', '\\x0a0b0c', 'eu-west', 2),
    ('0123456789abcdef', 'old-2', 'phone', '2026-11-21T23:59:59.999Z', ${at}, ${at}, 1, 0, 0, 1, 0, 0, 0,
    'k1', '\\x01', '\\x0a', 'eu-west', 2);
  insert into devices (app_id, device_id, first_seen, last_seen) values ('0123456789abcdef', 'phone', ${at}, ${at});`;

describe.each(drivers)("migration 0004 on %s", (kind) => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it("moves existing batches into day partitions and keeps every index", async () => {
    const database: TestDatabase = await createTestDatabase(kind, { empty: true });
    cleanup.push(() => database.drop());
    await seedBefore(database, "0004", oldRows);
    const opened = await openDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    cleanup.push(() => opened.close());
    const rows = rowsOf<{ batch_id: string; expires_at: Date | string; stored_bytes: number; partition: string }>(
      await opened.db.execute(sql`select batch_id, expires_at, stored_bytes, tableoid::regclass::text as partition
        from batches order by batch_id`),
    );
    expect(
      rows.map((row) => [row.batch_id, new Date(row.expires_at).toISOString(), row.stored_bytes, row.partition]),
    ).toEqual([
      ["old-1", "2026-12-20T08:30:00.000Z", 5, "batches_p20261220"],
      ["old-2", "2026-12-21T23:59:59.999Z", 2, "batches_p20261221"],
    ]);
    expect(await listPartitions(opened.db)).toHaveLength(2);
    const devices = rowsOf<{ expires_at: Date | string }>(await opened.db.execute(sql`select expires_at from devices`));
    expect(devices.map((row) => new Date(row.expires_at).toISOString())).toEqual(["2026-12-21T23:59:59.999Z"]);
    const indexes = rowsOf<{ indexname: string }>(
      await opened.db.execute(sql`select indexname from pg_indexes where tablename = 'batches' order by indexname`),
    );
    expect(indexes.map((row) => row.indexname)).toEqual([
      "batches_app_device_first_ts_idx",
      "batches_app_device_last_ts_idx",
      "batches_app_first_ts_idx",
      "batches_app_id_batch_id_expires_at_pk",
      "batches_app_last_ts_idx",
      "batches_app_received_at_idx",
      "batches_app_txid_idx",
      // From a later migration (replication marks), applied with the rest.
      "batches_origin_seq_idx",
    ]);
  });
});
