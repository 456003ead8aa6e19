// PostgreSQL's statements prepared once per connection (client.ts `preparing`), as PGlite's are
// kept: each statement with parameters is named and kept by the connection, in a transaction and
// a savepoint too, and answers the same as before.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../store/partitions.ts";
import { createTestDatabase, drivers, type TestDatabase } from "../testing/harness.ts";
import { type DatabaseHandle, openDatabase, type Transaction } from "./client.ts";

describe.skipIf(!drivers.includes("postgres"))("PostgreSQL's prepared statements", () => {
  let test: TestDatabase;
  let database: DatabaseHandle;
  /** The statements this connection keeps, by text. */
  const prepared = async (tx: Transaction) =>
    rowsOf<{ statement: string }>(await tx.execute(sql`select statement from pg_prepared_statements`)).map(
      (row) => row.statement,
    );

  beforeAll(async () => {
    test = await createTestDatabase("postgres");
    database = await openDatabase({ databaseUrl: test.databaseUrl, dataDir: test.dataDir });
    await database.db.execute(sql`create table kept_rows (id int primary key, body text, bytes bytea)`);
  });
  afterAll(async () => {
    await database?.close();
    await test?.drop();
  });

  it("prepares a statement with parameters once, in a transaction and in a savepoint", async () => {
    const select = (tx: Transaction, id: number) => tx.execute(sql`select id, body from kept_rows where id = ${id}`);
    const text = "select id, body from kept_rows where id = $1";
    const seen = await database.db.transaction(async (tx) => {
      await select(tx, 1);
      await select(tx, 2);
      const inTransaction = (await prepared(tx)).filter((statement) => statement === text).length;
      const inSavepoint = await tx.transaction(async (savepoint) => {
        await savepoint.execute(sql`select body from kept_rows where id = ${3}`);
        return (await prepared(savepoint)).includes("select body from kept_rows where id = $1");
      });
      return { inTransaction, inSavepoint };
    });
    expect(seen).toEqual({ inTransaction: 1, inSavepoint: true });
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

  it("rolls a failed transaction back whole, and the statement that failed runs again after", async () => {
    const insert = (id: number) => sql`insert into kept_rows (id, body) values (${id}, ${"again"})`;
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(insert(10));
        await tx.execute(insert(10));
      }),
    ).rejects.toThrow();
    const count = async () =>
      rowsOf<{ count: number }>(
        await database.db.execute(sql`select count(*)::int as count from kept_rows where id >= ${10}`),
      )[0]?.count;
    expect(await count()).toBe(0);
    await database.db.execute(insert(10));
    expect(await count()).toBe(1);
  });

  it("prepares a statement anew once its table changed what it returns, as a migration does", async () => {
    // As many at once as the pool has connections, so each of them keeps the statement.
    const all = async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => database.db.execute(sql`select * from kept_rows where id = ${1}`)),
      );
      return new Set(results.map((result) => Object.keys(rowsOf<Record<string, unknown>>(result)[0] ?? {}).join()));
    };
    expect(await all()).toEqual(new Set(["id,body,bytes"]));
    await database.db.execute(sql`alter table kept_rows add column extra int`);
    // postgres.js runs a kept statement that PostgreSQL refuses this way once more, prepared anew.
    expect(await all()).toEqual(new Set(["id,body,bytes,extra"]));
  });
});
