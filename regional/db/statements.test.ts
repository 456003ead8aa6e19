// Statements kept by name on both drivers (client.ts): PGlite's parsed once by `PGliteForDrizzle`,
// PostgreSQL's prepared once per connection by `preparing`. The same answers as a statement parsed
// anew, nothing left half-done by a failure, a bounded number kept, a statement whose table
// changed shape runs again, and a long chain of statements never holds the event loop.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../store/partitions.ts";
import { createTestDatabase, drivers, type TestDatabase } from "../testing/harness.ts";
import { type DatabaseHandle, type DatabaseKind, openDatabase, type Transaction } from "./client.ts";

/** A database of `kind` with a table to keep statements on, for the tests of one describe. */
function useDatabase(kind: DatabaseKind): () => DatabaseHandle {
  let test: TestDatabase;
  let database: DatabaseHandle;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
    database = await openDatabase({ databaseUrl: test.databaseUrl, dataDir: test.dataDir });
    await database.db.execute(sql`create table kept_rows (id int primary key, body text, bytes bytea)`);
  });
  afterAll(async () => {
    await database?.close();
    await test?.drop();
  });
  return () => database;
}

/** The statements the connection running `db` keeps, by text. */
async function kept(db: Pick<Transaction, "execute">): Promise<string[]> {
  return rowsOf<{ statement: string }>(await db.execute(sql`select statement from pg_prepared_statements`)).map(
    (row) => row.statement,
  );
}

describe.each(drivers)("kept statements on %s", (kind) => {
  const current = useDatabase(kind);

  it("answers a statement run again with new parameters, and bytes and nulls as given", async () => {
    const insert = (id: number, body: string | null, bytes: Uint8Array | null) =>
      current().db.execute(sql`insert into kept_rows (id, body, bytes) values (${id}, ${body}, ${bytes})`);
    await insert(1, "one", new Uint8Array([0, 1, 255]));
    await insert(2, null, null);
    await insert(3, "three", new Uint8Array(5000).fill(7));
    const rows = rowsOf<{ id: number; body: string | null; bytes: Uint8Array | null }>(
      await current().db.execute(
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

  it("lets timers and sockets run during a long chain of statements", async () => {
    // PGlite settles each statement at once: without turns of the event loop between them, a
    // search's page held the region, and every upload waiting on it, for its whole second.
    let turns = 0;
    const timer = setInterval(() => {
      turns += 1;
    }, 1);
    const startedMs = performance.now();
    while (performance.now() - startedMs < 200) await current().db.execute(sql`select count(*) from kept_rows`);
    clearInterval(timer);
    expect(turns).toBeGreaterThan(5);
  });

  it("rolls a failed transaction back whole, and the statement that failed runs again after", async () => {
    const insert = (id: number) => sql`insert into kept_rows (id, body) values (${id}, 'again')`;
    await expect(
      current().db.transaction(async (tx) => {
        await tx.execute(insert(10));
        await tx.execute(insert(10));
      }),
    ).rejects.toThrow();
    const count = async () =>
      rowsOf<{ count: number }>(
        await current().db.execute(sql`select count(*)::int as count from kept_rows where id >= 10`),
      )[0]?.count;
    expect(await count()).toBe(0);
    await current().db.execute(insert(10));
    expect(await count()).toBe(1);
  });
});

describe("PGlite's kept statements", () => {
  const current = useDatabase("pglite");

  it("keeps at most statementsMax, closing the least recently used, which runs again when asked", async () => {
    const distinct = (n: number) => current().db.execute(sql`select ${n}::int + ${sql.raw(String(n))} as value`);
    for (let n = 0; n < 620; n++) await distinct(n);
    expect((await kept(current().db)).length).toBeLessThanOrEqual(500);
    expect(rowsOf<{ value: number }>(await distinct(0))[0]?.value).toBe(0);
  });

  it("parses a statement anew once its table changed what it returns", async () => {
    await current().db.execute(sql`insert into kept_rows (id, body) values (1, 'one')`);
    const all = () => current().db.execute(sql`select * from kept_rows where id = ${1}`);
    expect(Object.keys(rowsOf<Record<string, unknown>>(await all())[0] ?? {})).toEqual(["id", "body", "bytes"]);
    await current().db.execute(sql`alter table kept_rows add column extra int`);
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

describe.skipIf(!drivers.includes("postgres"))("PostgreSQL's prepared statements", () => {
  const current = useDatabase("postgres");

  it("prepares a statement with parameters once, in a transaction and in a savepoint", async () => {
    const text = "select id, body from kept_rows where id = $1";
    const seen = await current().db.transaction(async (tx) => {
      await tx.execute(sql`select id, body from kept_rows where id = ${1}`);
      await tx.execute(sql`select id, body from kept_rows where id = ${2}`);
      const inTransaction = (await kept(tx)).filter((statement) => statement === text).length;
      const inSavepoint = await tx.transaction(async (savepoint) => {
        await savepoint.execute(sql`select body from kept_rows where id = ${3}`);
        return (await kept(savepoint)).includes("select body from kept_rows where id = $1");
      });
      return { inTransaction, inSavepoint };
    });
    expect(seen).toEqual({ inTransaction: 1, inSavepoint: true });
  });

  it("prepares a statement anew on every pooled connection once its table changed what it returns", async () => {
    await current().db.execute(sql`insert into kept_rows (id, body) values (1, 'one')`);
    // As many at once as the pool has connections, so each of them keeps the statement.
    const all = async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => current().db.execute(sql`select * from kept_rows where id = ${1}`)),
      );
      return new Set(results.map((result) => Object.keys(rowsOf<Record<string, unknown>>(result)[0] ?? {}).join()));
    };
    expect(await all()).toEqual(new Set(["id,body,bytes"]));
    await current().db.execute(sql`alter table kept_rows add column extra int`);
    // A migration in a rolling upgrade does this under running regions: postgres.js runs a kept
    // statement PostgreSQL refuses this way once more, prepared anew, so no caller sees it.
    expect(await all()).toEqual(new Set(["id,body,bytes,extra"]));
  });

  it("compiles no statement just in time, on any pooled connection", async () => {
    // With JIT on, the health probe's replication backlog over a month of partitions spent 1.6 s
    // compiling 20 ms of work, on every probe.
    const settings = await Promise.all(
      Array.from({ length: 10 }, () => current().db.execute(sql`select current_setting('jit') as jit, pg_sleep(0.05)`)),
    );
    expect(new Set(settings.map((result) => rowsOf<{ jit: string }>(result)[0]?.jit))).toEqual(new Set(["off"]));
  });
});
