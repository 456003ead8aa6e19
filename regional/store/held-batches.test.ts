// The duplicate lookup (`lockBatchIds`, the database function `lock_batch_ids`) keeps its plan for the
// connection; a partition created after the plan was made must still be looked in, or a batch
// arriving again on another day would be stored twice. And it probes each partition by key: a plan
// that reads partitions whole costs every commit group a day's batches.
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retentionDaysDefault } from "../../shared/lifecycle.ts";
import { batches } from "../db/schema/index.ts";
import type { Region } from "../region.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { createTestDatabase, drivers, startTestRegion, type TestDatabase, testAppId } from "../testing/harness.ts";
import { sequentialScans } from "../testing/rows.ts";
import { lockBatchIds } from "./expiry.ts";
import { dayMs, dayOf, listPartitions, rowsOf } from "./partitions.ts";

const t0 = Date.UTC(2026, 8, 1, 10, 0, 0);

describe.each(drivers)("the duplicate lookup on %s", (kind) => {
  let database: TestDatabase;
  let region: Region;
  let nowMs = t0;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    region = await startTestRegion(database, {}, { clock: { now: () => nowMs } });
  });
  afterAll(async () => {
    await region?.close();
    await database?.drop();
  });

  async function copies(appId: string, batchId: string) {
    return region.database.db
      .select({ expiresAt: batches.expiresAt })
      .from(batches)
      .where(and(eq(batches.appId, appId), eq(batches.batchId, batchId)));
  }

  it("finds a batch in a partition created after its plan was made, whichever day it arrives again", async () => {
    const appId = testAppId();
    const first = makeBatch({ lines: [{ ts: baseTs, text: "first" }] });
    nowMs = t0;
    expect(await region.store.put(appId, first)).toMatchObject({ ok: true, value: { duplicate: false } });
    // The lookup has run (and planned) with the partitions of today's expiry only.
    expect(await region.store.put(appId, first)).toMatchObject({ ok: true, value: { duplicate: true } });

    // Two days on, a new batch goes to a partition that did not exist then.
    nowMs = t0 + 2 * dayMs;
    const later = makeBatch({ lines: [{ ts: baseTs, text: "later" }] });
    expect(await region.store.put(appId, later)).toMatchObject({ ok: true, value: { duplicate: false } });
    const laterDay = dayOf((await copies(appId, later.batchId))[0]?.expiresAt.getTime() ?? 0);

    // Arriving again a day later, each would be filed under yet another day: both are found where they are.
    nowMs = t0 + 3 * dayMs;
    expect(await region.store.put(appId, later)).toMatchObject({ ok: true, value: { duplicate: true } });
    expect(await region.store.put(appId, first)).toMatchObject({ ok: true, value: { duplicate: true } });
    expect(await listPartitions(region.database.db)).toEqual(
      expect.arrayContaining([dayOf(t0 + 30 * dayMs), laterDay, dayOf(nowMs + 30 * dayMs)]),
    );
    expect(await copies(appId, later.batchId)).toHaveLength(1);
    expect(await copies(appId, first.batchId)).toHaveLength(1);
  });

  it("probes each partition by key for each id, reading none whole", async () => {
    const appId = testAppId();
    nowMs = t0 + 4 * dayMs;
    const stored = Array.from({ length: 24 }, (_, index) => makeBatch({ lines: [{ ts: baseTs + index }] }));
    for (const batch of stored) expect((await region.store.put(appId, batch)).ok).toBe(true);
    const asked = [...stored.slice(0, 3), makeBatch({ lines: [{ ts: baseTs }] })].map((batch) => ({
      appId,
      batchId: batch.batchId,
    }));
    for (let run = 0; run < 3; run++) {
      const { held, retention, scans } = await region.database.db.transaction(async (tx) => {
        const before = await sequentialScans(tx);
        const looked = await lockBatchIds(tx, asked, nowMs);
        return { ...looked, scans: (await sequentialScans(tx)) - before };
      });
      expect(retention).toEqual(new Map([[appId, retentionDaysDefault]]));
      expect([...held].sort()).toEqual(
        asked
          .slice(0, 3)
          .map((key) => `${appId}/${key.batchId}`)
          .sort(),
      );
      expect(scans).toBe(0);
    }
  });

  it("takes the ids' locks and their apps' shared ones, unless it is the database's sole session", async () => {
    const appId = testAppId();
    const other = testAppId();
    nowMs = t0 + 4 * dayMs;
    const stored = makeBatch({ lines: [{ ts: baseTs, text: "held" }] });
    expect((await region.store.put(appId, stored)).ok).toBe(true);
    const asked = [
      { appId, batchId: stored.batchId },
      { appId, batchId: `${stored.batchId}-new` },
      { appId: other, batchId: stored.batchId },
    ];
    const advisoryLocks = async (tx: Parameters<Parameters<typeof region.database.db.transaction>[0]>[0]) =>
      rowsOf<{ mode: string; locks: number }>(
        await tx.execute(
          sql`select mode, count(*)::int as locks from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() group by mode order by mode`,
        ),
      );
    for (const soleSession of [false, true]) {
      const { held, locks } = await region.database.db.transaction(async (tx) => {
        const looked = await lockBatchIds(tx, asked, nowMs, soleSession);
        return { ...looked, locks: await advisoryLocks(tx) };
      });
      expect(held).toEqual(new Set([`${appId}/${stored.batchId}`]));
      expect(locks).toEqual(
        soleSession
          ? []
          : [
              { mode: "ExclusiveLock", locks: 3 },
              { mode: "ShareLock", locks: 2 },
            ],
      );
    }
  });

  it("still answers the previous version's call (three arguments), for a rolling upgrade", async () => {
    const appId = testAppId();
    nowMs = t0 + 4 * dayMs;
    const stored = makeBatch({ lines: [{ ts: baseTs, text: "previous" }] });
    expect((await region.store.put(appId, stored)).ok).toBe(true);
    const rows = rowsOf<{ batch_id: string; held: boolean }>(
      await region.database.db.execute(
        sql`select batch_id, held from lock_batch_ids(${new Date(nowMs).toISOString()}, ${sql.param([appId, appId])}::text[], ${sql.param([stored.batchId, "absent"])}::text[])`,
      ),
    );
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        { batch_id: stored.batchId, held: true },
        { batch_id: "absent", held: false },
      ]),
    );
  });

  // PGlite has one connection, so no writer ever waits there.
  it.skipIf(kind === "pglite")(
    "answers a writer that waited for an id's lock with what the holder committed",
    async () => {
      const appId = testAppId();
      nowMs = t0 + 5 * dayMs;
      const stored = makeBatch({ lines: [{ ts: baseTs, text: "copied" }] });
      expect((await region.store.put(appId, stored)).ok).toBe(true);
      const racing = { appId, batchId: `${stored.batchId}-racing` };
      const db = region.database.db;
      // A copy of the stored row under the racing id, as the holder's own insert.
      const [columns] = rowsOf<{ list: string }>(
        await db.execute(
          sql`select string_agg(quote_ident(column_name), ', ' order by ordinal_position) as list from information_schema.columns where table_schema = current_schema() and table_name = 'batches'`,
        ),
      );
      const list = columns?.list ?? "";
      const values = list
        .split(", ")
        .map((column) => (column === "batch_id" ? `'${racing.batchId}'` : column))
        .join(", ");
      let holding!: () => void;
      const locked = new Promise<void>((resolve) => {
        holding = resolve;
      });
      const holder = db.transaction(async (tx) => {
        await lockBatchIds(tx, [racing], nowMs);
        await tx.execute(
          sql.raw(`insert into batches (${list}) select ${values} from batches where batch_id = '${stored.batchId}'`),
        );
        holding();
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
      await locked;
      const waiter = await db.transaction((tx) => lockBatchIds(tx, [racing], nowMs));
      await holder;
      expect(waiter.held).toEqual(new Set([`${appId}/${racing.batchId}`]));
    },
  );
});
