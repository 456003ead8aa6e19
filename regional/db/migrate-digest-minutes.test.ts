// Migration 0010 on a database that already holds batches (PGlite and PostgreSQL): the digest rows
// of the last two hours are redone minute by minute, older ones stay one per hour, and the totals
// are unchanged.
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { partitionName, rowsOf } from "../store/partitions.ts";
import { createTestDatabase, drivers, type TestDatabase } from "../testing/harness.ts";
import { seedBefore } from "../testing/migrations.ts";
import { openDatabase } from "./client.ts";

const minuteNow = Math.floor(Date.now() / 60_000);
// Minutes since the epoch at which each batch was received: ten minutes, three and five hours ago.
const receivedMinutes = [minuteNow - 10, minuteNow - 10, minuteNow - 180, minuteNow - 300];
// All of them expire at one time, in one partition.
const expiresDay = Math.floor(Date.now() / 86_400_000) + 30;
const partition = `create table "${partitionName(expiresDay)}" partition of "batches"
  for values from ('${new Date(expiresDay * 86_400_000).toISOString()}') to ('${new Date((expiresDay + 1) * 86_400_000).toISOString()}');`;
const oldRows = receivedMinutes
  .map((minute, index) => {
    const at = `to_timestamp(${minute * 60 + 7})`;
    const expires = `to_timestamp(${expiresDay * 86_400 + 3600})`;
    return `insert into batches (app_id, batch_id, device_id, received_at, expires_at, first_ts, last_ts,
      line_count, trace_count, debug_count, info_count, warn_count, error_count, fatal_count, key_id,
      wrapped_key, ciphertext, origin, seal_format, stored_bytes)
    values ('0123456789abcdef', 'old-${index}', 'phone', ${at}, ${expires}, ${at}, ${at},
      1, 0, 0, 1, 0, 0, 0, 'k1', '\\x01', '\\x0a', 'eu-west', 2, 2);`;
  })
  .join("\n");

describe.each(drivers)("migration 0010 on %s", (kind) => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it("redoes the last two hours' digest rows minute by minute", async () => {
    const database: TestDatabase = await createTestDatabase(kind, { empty: true });
    cleanup.push(() => database.drop());
    await seedBefore(
      database,
      "0010",
      `insert into apps (id, name) values ('0123456789abcdef', 'old');\n${partition}\n${oldRows}`,
    );
    const opened = await openDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    cleanup.push(() => opened.close());
    const rows = rowsOf<{ hour: number; minute: number; batches: number }>(
      await opened.db.execute(sql`select hour, minute, sum(batches)::int as batches from bucket_digests
        group by hour, minute order by hour, minute`),
    );
    const hourOf = (minute: number) => Math.floor(minute / 60);
    const expected = new Map<string, { hour: number; minute: number; batches: number }>();
    for (const minute of receivedMinutes) {
      const recent = hourOf(minute) >= hourOf(minuteNow) - 1;
      const row = { hour: hourOf(minute), minute: recent ? minute % 60 : -1, batches: 0 };
      const key = `${row.hour}:${row.minute}`;
      const held = expected.get(key) ?? row;
      held.batches += 1;
      expected.set(key, held);
    }
    expect(rows.map((row) => ({ ...row, hour: Number(row.hour), minute: Number(row.minute) }))).toEqual(
      [...expected.values()].sort((a, b) => a.hour - b.hour || a.minute - b.minute),
    );
  });
});
