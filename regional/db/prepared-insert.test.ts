// Inserts built once per shape (prepared-insert.ts), on both drivers: the rows drizzle's own insert
// would store, one build per shape, the finishing clause applied, and failures as drizzle's.
import { sql } from "drizzle-orm";
import { customType, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsOf } from "../store/partitions.ts";
import { createTestDatabase, drivers, type TestDatabase } from "../testing/harness.ts";
import { type DatabaseHandle, openDatabase } from "./client.ts";
import { databaseFailure } from "./errors.ts";
import { preparedInsert } from "./prepared-insert.ts";

const bytes = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => "bytea" });
const tableOf = (name: string) =>
  pgTable(name, {
    id: text("id").primaryKey(),
    at: timestamp("at", { withTimezone: true, precision: 3, mode: "date" }).notNull(),
    note: text("note"),
    body: bytes("body"),
    count: integer("count").notNull().default(7),
    txid: text("txid"),
  });
const theirs = tableOf("drizzle_rows");
const ours = tableOf("prepared_rows");
const transactionId = sql`pg_current_xact_id()::text`;

describe.each(drivers)("inserts built once per shape on %s", (kind) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  const create = (name: string) =>
    handle.db.execute(
      sql.raw(`create table ${name} (id text primary key, at timestamptz(3) not null, note text, body bytea,
        count integer not null default 7, txid text)`),
    );
  const rowsIn = async (name: string) =>
    rowsOf<Record<string, unknown>>(
      await handle.db.execute(
        sql.raw(
          `select id, at, note, encode(body, 'hex') as body, count, txid is not null as txid from ${name} order by id`,
        ),
      ),
    ).map((row): Record<string, unknown> => ({ ...row, at: new Date(row.at as string).getTime() }));

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    handle = await openDatabase(database);
    await create("drizzle_rows");
    await create("prepared_rows");
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it("stores what drizzle's own insert stores: dates, bytes, nulls, defaults and SQL", async () => {
    const insert = preparedInsert(ours);
    const rows = [
      { id: "a", at: new Date(1_700_000_000_123), note: "first", body: new Uint8Array([0, 1, 255]), count: 1 },
      { id: "b", at: new Date(1_700_000_000_456), note: null, body: null, txid: transactionId },
      {
        id: "c",
        at: new Date(1_700_000_000_789),
        note: "caf\u00e9 \u{1f600}",
        count: undefined,
        body: new Uint8Array(3000),
      },
    ];
    await handle.db.insert(theirs).values(rows);
    await insert(handle.db, rows);
    const stored = await rowsIn("prepared_rows");
    expect(stored).toEqual(await rowsIn("drizzle_rows"));
    expect(stored.map((row) => [row.id, row.note, row.count, row.txid])).toEqual([
      ["a", "first", 1, false],
      ["b", null, 7, true],
      ["c", "caf\u00e9 \u{1f600}", 7, false],
    ]);
  });

  it("builds a shape's statement once, and one for each other shape", async () => {
    const insert = preparedInsert(ours);
    let builds = 0;
    const counted = new Proxy(handle.db, {
      get: (target, property, receiver) => {
        if (property === "insert") builds += 1;
        return Reflect.get(target, property, receiver);
      },
    });
    const row = (id: string, note: string | null) => ({ id, at: new Date(0), note });
    await insert(counted, [row("s1", "x"), row("s2", "y")]);
    await insert(counted, [row("s3", "x"), row("s4", "y")]);
    expect(builds).toBe(1);
    await insert(counted, [row("s5", "x")]);
    await insert(counted, [row("s6", "x"), row("s7", null)]);
    await insert(counted, [row("s8", "x"), row("s9", null)]);
    expect(builds).toBe(3);
    const stored = await rowsIn("prepared_rows");
    expect(stored.filter((entry) => String(entry.id).startsWith("s")).map((entry) => [entry.id, entry.note])).toEqual([
      ["s1", "x"],
      ["s2", "y"],
      ["s3", "x"],
      ["s4", "y"],
      ["s5", "x"],
      ["s6", "x"],
      ["s7", null],
      ["s8", "x"],
      ["s9", null],
    ]);
  });

  it("applies the finishing clause to every insert", async () => {
    const upsert = preparedInsert(ours, (insert) =>
      insert.onConflictDoUpdate({ target: ours.id, set: { count: sql`${ours.count} + excluded.count` } }),
    );
    await upsert(handle.db, [{ id: "u", at: new Date(0), count: 2 }]);
    await upsert(handle.db, [{ id: "u", at: new Date(0), count: 3 }]);
    await handle.db.transaction((tx) => upsert(tx, [{ id: "u", at: new Date(0), count: 4 }]));
    expect((await rowsIn("prepared_rows")).find((row) => row.id === "u")?.count).toBe(9);
  });

  it("fails as drizzle's insert fails, rolls its transaction back, and runs again after", async () => {
    const insert = preparedInsert(ours);
    const failure = await handle.db
      .transaction(async (tx) => {
        await insert(tx, [{ id: "f1", at: new Date(0) }]);
        await insert(tx, [{ id: "f2", at: new Date(0), note: "bad\u0000" }]);
      })
      .catch((error: unknown) => error);
    expect(databaseFailure(failure)).toMatchObject({ sqlState: "22021", causedBy: "data" });
    expect((await rowsIn("prepared_rows")).filter((row) => String(row.id).startsWith("f"))).toEqual([]);
    await insert(handle.db, [{ id: "f2", at: new Date(0), note: "good" }]);
    expect((await rowsIn("prepared_rows")).find((row) => row.id === "f2")?.note).toBe("good");
  });
});
