// The transaction horizon on PostgreSQL, where transaction ids are the server's: a write
// transaction open in this database holds it (a batch it stores may still commit below anything
// read since), one open in another database of the same server does not.
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Region } from "../region.ts";
import { createTestDatabase, startTestRegion, type TestDatabase } from "../testing/harness.ts";
import { horizonSql } from "./horizon.ts";
import { rowsOf } from "./partitions.ts";

const postgresUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!postgresUrl)("the transaction horizon on postgres", () => {
  let database: TestDatabase;
  let region: Region;
  let here: postgres.Sql;
  let elsewhere: postgres.Sql;

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    region = await startTestRegion(database);
    here = postgres(database.databaseUrl as string, { max: 2, onnotice: () => undefined });
    // The server's own database: another application's, as far as this region can tell.
    elsewhere = postgres(postgresUrl as string, { max: 1, onnotice: () => undefined });
  });
  afterAll(async () => {
    await here?.end();
    await elsewhere?.end();
    await region?.close();
    await database?.drop();
  });

  /** A write transaction left open on `client`: its id, and how to end it. */
  async function openWrite(client: postgres.Sql) {
    const connection = await client.reserve();
    await connection`begin`;
    const [row] = await connection`select pg_current_xact_id()::text as xid`;
    return {
      xid: BigInt(row?.xid as string),
      end: async () => {
        await connection`rollback`;
        connection.release();
      },
    };
  }
  const read = async (expression: ReturnType<typeof sql>) => {
    const [row] = rowsOf<{ value: string }>(
      await region.database.db.execute(sql`select (${expression})::text as value`),
    );
    return BigInt(row?.value as string);
  };
  const horizon = () => read(horizonSql);
  // A transaction that commits here after the open one started, so the open one is among the
  // snapshot's running ids rather than at or above its xmax.
  const commitOne = () => here`select pg_current_xact_id()`;

  it("passes a write transaction open in another database", async () => {
    const open = await openWrite(elsewhere);
    try {
      await commitOne();
      expect(await read(sql`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`)).toBeLessThanOrEqual(open.xid);
      // Another test's transaction that ends as the horizon is read may lower it once: read again.
      await vi.waitFor(async () => expect(await horizon()).toBeGreaterThan(open.xid), { timeout: 5000 });
    } finally {
      await open.end();
    }
  });

  it("stops at a write transaction open in this database until it ends", async () => {
    const open = await openWrite(here);
    try {
      await commitOne();
      for (let attempt = 0; attempt < 3; attempt += 1) expect(await horizon()).toBeLessThanOrEqual(open.xid);
    } finally {
      await open.end();
    }
    await vi.waitFor(async () => expect(await horizon()).toBeGreaterThan(open.xid), { timeout: 5000 });
  });
});
