// PGlite's statements parsed once and kept by name (client.ts `PGliteForDrizzle`): the same answers
// as a statement parsed anew, a bounded number kept, and nothing left half-done by a failure.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../store/partitions.ts";
import { type DatabaseHandle, openDatabase } from "./client.ts";

describe("PGlite's kept statements", () => {
  let dataDir: string;
  let database: DatabaseHandle;
  const kept = async () =>
    Number(
      rowsOf<{ count: number }>(
        await database.db.execute(sql`select count(*)::int as count from pg_prepared_statements`),
      )[0]?.count,
    );

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "stormlog-statements-"));
    database = await openDatabase({ databaseUrl: undefined, dataDir });
    await database.db.execute(sql`create table kept_rows (id int primary key, body text, bytes bytea)`);
  });
  afterAll(async () => {
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("answers a statement run again with new parameters, and bytes and nulls as given", async () => {
    const insert = (id: number, body: string | null, bytes: Uint8Array | null) =>
      database.db.execute(sql`insert into kept_rows (id, body, bytes) values (${id}, ${body}, ${bytes})`);
    await insert(1, "one", new Uint8Array([0, 1, 255]));
    await insert(2, null, null);
    await insert(3, "three", new Uint8Array(5000).fill(7));
    const rows = rowsOf<{ id: number; body: string | null; bytes: Uint8Array | null }>(
      await database.db.execute(
        sql`select id, body, bytes from kept_rows where id = any(${sql.param([1, 2, 3])}::int[]) order by id`,
      ),
    );
    expect(rows.map((row) => [row.id, row.body, row.bytes?.length ?? null])).toEqual([
      [1, "one", 3],
      [2, null, null],
      [3, "three", 5000],
    ]);
    expect([...(rows[0]?.bytes ?? [])]).toEqual([0, 1, 255]);
  });

  it("keeps at most statementsMax, closing the least recently used, which runs again when asked", async () => {
    const distinct = (n: number) => database.db.execute(sql`select ${n}::int + ${sql.raw(String(n))} as value`);
    for (let n = 0; n < 620; n++) await distinct(n);
    expect(await kept()).toBeLessThanOrEqual(500);
    expect(rowsOf<{ value: number }>(await distinct(0))[0]?.value).toBe(0);
  });

  it("rolls a failed transaction back whole, and the statement that failed runs again after", async () => {
    const insert = (id: number) => sql`insert into kept_rows (id, body) values (${id}, 'again')`;
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(insert(10));
        await tx.execute(insert(10));
      }),
    ).rejects.toThrow();
    const count = async () =>
      rowsOf<{ count: number }>(
        await database.db.execute(sql`select count(*)::int as count from kept_rows where id >= 10`),
      )[0]?.count;
    expect(await count()).toBe(0);
    await database.db.execute(insert(10));
    expect(await count()).toBe(1);
  });

  it("parses a statement anew once its table changed what it returns", async () => {
    const all = () => database.db.execute(sql`select * from kept_rows where id = ${1}`);
    expect(Object.keys(rowsOf<Record<string, unknown>>(await all())[0] ?? {})).toEqual(["id", "body", "bytes"]);
    await database.db.execute(sql`alter table kept_rows add column extra int`);
    // PostgreSQL refuses the kept statement once (its rows would change shape); then it is parsed anew.
    await expect(all()).rejects.toThrow();
    expect(Object.keys(rowsOf<Record<string, unknown>>(await all())[0] ?? {})).toEqual([
      "id",
      "body",
      "bytes",
      "extra",
    ]);
  });
});
