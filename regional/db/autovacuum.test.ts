// PGlite has no autovacuum: a region does its work (autovacuum.ts) by PostgreSQL's own rules, so
// statistics follow the data (the planner chose a scan of every batch without them) and dead rows
// are reclaimed. On PostgreSQL the server's autovacuum does it, and regions leave it alone.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../store/partitions.ts";
import { createTestDatabase, drivers, type TestDatabase } from "../testing/harness.ts";
import { autovacuumOnce } from "./autovacuum.ts";
import { type DatabaseHandle, openDatabase } from "./client.ts";

function useDatabase(kind: "pglite" | "postgres"): () => DatabaseHandle {
  let test: TestDatabase;
  let database: DatabaseHandle;
  beforeAll(async () => {
    test = await createTestDatabase(kind);
    database = await openDatabase({ databaseUrl: test.databaseUrl, dataDir: test.dataDir });
    await database.db.execute(sql`create table readings (id int primary key, value int not null)`);
  });
  afterAll(async () => {
    await database?.close();
    await test?.drop();
  });
  return () => database;
}

async function table(database: DatabaseHandle) {
  await database.db.execute(sql`select pg_stat_force_next_flush()`);
  const [row] = rowsOf<{ reltuples: number; dead: number }>(
    await database.db.execute(sql`
      select c.reltuples::float8 as reltuples, s.n_dead_tup::float8 as dead
      from pg_class c join pg_stat_user_tables s on s.relid = c.oid where c.relname = 'readings'`),
  );
  return row;
}

describe("autovacuum on PGlite", () => {
  const current = useDatabase("pglite");
  const readings = () =>
    autovacuumOnce(current()).then((done) => done.filter((table) => table.relation === "public.readings"));

  it("analyzes a table never analyzed, and again only once enough of it changed", async () => {
    await current().db.execute(sql`insert into readings select n, n from generate_series(1, 1000) as n`);
    expect(await readings()).toMatchObject([{ action: "analyze" }]);
    expect((await table(current()))?.reltuples).toBe(1000);
    // 50 + 10% of 1,000 rows: 120 changed rows are not enough, 400 more are.
    await current().db.execute(sql`insert into readings select n, n from generate_series(1001, 1120) as n`);
    expect(await readings()).toEqual([]);
    await current().db.execute(sql`insert into readings select n, n from generate_series(1121, 1520) as n`);
    expect(await readings()).toMatchObject([{ action: "analyze" }]);
    expect((await table(current()))?.reltuples).toBe(1520);
  });

  it("vacuums a table whose dead rows pass 50 + 20% of its rows, and reclaims them", async () => {
    for (let round = 0; round < 3; round++) await current().db.execute(sql`update readings set value = value + 1`);
    expect((await table(current()))?.dead).toBeGreaterThan(1000);
    expect(await readings()).toMatchObject([{ action: "vacuum, analyze" }]);
    expect((await table(current()))?.dead).toBe(0);
    expect(await readings()).toEqual([]);
  });
});

describe("a round of autovacuum", () => {
  it("stops between tables once the region stops, without waiting for the rest", async () => {
    const test = await createTestDatabase("pglite");
    const database = await openDatabase({ databaseUrl: test.databaseUrl, dataDir: test.dataDir });
    try {
      const stopping = new AbortController();
      stopping.abort();
      // A fresh database: every table is due (never analyzed), and none is taken.
      expect(await autovacuumOnce(database, stopping.signal)).toEqual([]);
      expect((await autovacuumOnce(database)).length).toBeGreaterThan(5);
    } finally {
      await database.close();
      await test.drop();
    }
  });
});

describe.skipIf(!drivers.includes("postgres"))("autovacuum on PostgreSQL", () => {
  const current = useDatabase("postgres");

  it("leaves the server's own autovacuum to do it", async () => {
    await current().db.execute(sql`insert into readings select n, n from generate_series(1, 1000) as n`);
    expect(await autovacuumOnce(current())).toEqual([]);
  });
});
