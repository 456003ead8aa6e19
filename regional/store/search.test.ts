// Text search over stored batches with their search filters: every match found (terms at batch
// boundaries, mixed case, a batch stored without a filter), batches ruled out never opened, no
// token in clear in the database, filters carried to peers, and a page reached by its cursor the
// same as the page reached by following every cursor before it.
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { type Batch, parseBatch } from "../../shared/batch.ts";
import { systemClock } from "../../shared/clock.ts";
import type { LogPage, LogQuery } from "../../shared/read.ts";
import { batches } from "../db/schema/index.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId, testKeyring, useTestRegion } from "../testing/harness.ts";
import type { BatchCodec } from "./codec.ts";
import { createBatchStore, createReplicaStore } from "./index.ts";
import { searchProbe } from "./search-filter.ts";

const rare = "Zyzzyva";

/** 40 batches of 20 lines; the rare word in the first line of batch 7, the last of batch 23, and legacy batch 31. */
function layout(): Batch[] {
  return Array.from({ length: 40 }, (_, b) =>
    parseBatch(
      makeBatch({
        batchId: `batch-${String(b).padStart(3, "0")}`,
        deviceId: `device-${b % 3}`,
        lines: Array.from({ length: 20 }, (_, i) => {
          const hasRare = (b === 7 && i === 0) || (b === 23 && i === 19) || (b === 31 && i === 5);
          const word = hasRare ? (b === 23 ? rare.toUpperCase() : `x${rare.toLowerCase()}s`) : "haystack";
          return { ts: baseTs + b * 1000 + i * 50, text: `line ${i} of ${b}: request ${word} took ${b * i}ms` };
        }),
      }),
    ),
  );
}

function expected(stored: Batch[], q: string, order: "asc" | "desc" = "asc"): string[] {
  const keys = stored.flatMap((batch) =>
    batch.logs
      .map((line, index) => ({ line, key: `${batch.batchId}#${index}` }))
      .filter(({ line }) => line.text.toLowerCase().includes(q.toLowerCase()))
      .map(({ key }) => key),
  );
  return order === "asc" ? keys : keys.reverse();
}

describe.each(drivers)("search on %s", (kind) => {
  const keyring = testKeyring();
  const appId = testAppId();
  const stored = layout();
  const t = useTestRegion(kind, { keyring });
  const peer = useTestRegion(kind, { keyring });

  /** A store over the region's database whose codec counts the batches it opens. */
  function countingStore(limits: { batchesScannedMax?: number; batchesFilteredMax?: number; pageMsMax?: number } = {}) {
    const opened: string[] = [];
    const codec: BatchCodec = {
      ...t.region.codec,
      open: (app, batchId, sealed) => {
        opened.push(batchId);
        return t.region.codec.open(app, batchId, sealed);
      },
    };
    const store = createBatchStore({
      db: t.region.database.db,
      codec,
      keystore: t.region.keystore,
      clock: systemClock,
      ...limits,
    });
    return { store, opened };
  }

  async function allPages(
    store: ReturnType<typeof createBatchStore>,
    query: Partial<LogQuery>,
  ): Promise<{ keys: string[]; pages: LogPage[] }> {
    const pages: LogPage[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.readLogs(appId, { limit: 100, ...query, cursor });
      if (!page.ok) throw new Error(page.error.message);
      pages.push(page.value);
      cursor = page.value.nextCursor ?? undefined;
      expect(pages.length).toBeLessThan(200);
    } while (cursor);
    return { keys: pages.flatMap((page) => page.logs.map((line) => `${line.batchId}#${line.index}`)), pages };
  }

  beforeAll(async () => {
    for (const batch of stored) expect((await t.region.store.put(appId, batch)).ok).toBe(true);
    // A batch stored before filters existed.
    await t.region.database.db
      .update(batches)
      .set({ searchFilter: null })
      .where(and(eq(batches.appId, appId), eq(batches.batchId, "batch-031")));
  });

  it.each([
    rare,
    rare.toLowerCase(),
    "ZYZZ",
    "yzzyv",
    `x${rare}s took`,
    `${rare}`.slice(2),
    "zy",
    "hayst",
    ": request",
    "of 7:",
    "no such word anywhere",
  ])("finds every line matching %j, in both orders", async (q) => {
    const { store } = countingStore();
    for (const order of ["asc", "desc"] as const) {
      const { keys } = await allPages(store, { q, order, limit: 7 });
      expect(keys).toEqual(expected(stored, q, order));
    }
  });

  it("opens no batch whose filter rules the word out", async () => {
    const { store, opened } = countingStore();
    const { keys } = await allPages(store, { q: rare });
    expect(keys).toEqual(["batch-007#0", "batch-023#19", "batch-031#5"]);
    const rows = await t.region.database.db
      .select({ batchId: batches.batchId, filter: batches.searchFilter })
      .from(batches)
      .where(eq(batches.appId, appId));
    const probe = await searchProbe(t.region.codec, appId, rare);
    const ruledOut = probe?.rulesOut(rows.map((row) => row.filter)) ?? [];
    const skipped = rows.filter((_, at) => ruledOut[at]).map((row) => row.batchId);
    expect(skipped.length).toBeGreaterThanOrEqual(35);
    expect(opened.filter((batchId) => skipped.includes(batchId))).toEqual([]);
    expect(opened).toEqual(expect.arrayContaining(["batch-007", "batch-023", "batch-031"]));
    // A query a filter cannot answer opens every batch, as before filters.
    const { store: plain, opened: all } = countingStore();
    await allPages(plain, { q: "zy" });
    expect(new Set(all).size).toBe(stored.length);
  });

  it("passes over ruled-out batches without spending the bound on batches opened", async () => {
    const { store } = countingStore({ batchesScannedMax: 2 });
    const { keys, pages } = await allPages(store, { q: rare });
    expect(keys).toEqual(expected(stored, rare));
    expect(pages.length).toBeLessThanOrEqual(3);
  });

  it("stops a page at its bound on batches passed over, and the cursor goes on without losing a match", async () => {
    const { store } = countingStore({ batchesFilteredMax: 3 });
    for (const order of ["asc", "desc"] as const) {
      const { keys, pages } = await allPages(store, { q: rare, order });
      expect(keys).toEqual(expected(stored, rare, order));
      expect(pages.length).toBeGreaterThan(5);
    }
  });

  it("stops a page when its time is spent, and the cursor goes on without losing a match", async () => {
    // No time at all: each page reads only the batches at its start, so nothing is skipped.
    const { store } = countingStore({ pageMsMax: 0 });
    for (const order of ["asc", "desc"] as const) {
      const { keys, pages } = await allPages(store, { q: rare, order });
      expect(keys).toEqual(expected(stored, rare, order));
      expect(pages.length).toBeGreaterThan(5);
    }
  });

  it("keeps no word of the text in clear: a dump of the rows holds neither the word nor its hex", async () => {
    const dump: unknown = await t.region.database.db.execute(
      sql`select ${batches}::text as row from ${batches} where ${batches.appId} = ${appId}`,
    );
    const rows = (Array.isArray(dump) ? dump : (dump as { rows: unknown[] }).rows) as { row: string }[];
    const text = rows
      .map((row) => row.row)
      .join("\n")
      .toLowerCase();
    expect(text.length).toBeGreaterThan(10_000);
    for (const word of [rare, "haystack", "request"]) {
      expect(text).not.toContain(word.toLowerCase());
      expect(text).not.toContain(Buffer.from(word.toLowerCase()).toString("hex"));
    }
  });

  it("sends the filter with the batch, and a peer stores it as sent; a batch without one travels without", async () => {
    const source = createReplicaStore({
      db: t.region.database.db,
      codec: t.region.codec,
      keystore: t.region.keystore,
      clock: systemClock,
    });
    const target = createReplicaStore({
      db: peer.region.database.db,
      codec: peer.region.codec,
      keystore: peer.region.keystore,
      clock: systemClock,
    });
    const sealed = await source.loadSealed([
      { appId, batchId: "batch-007" },
      { appId, batchId: "batch-031" },
    ]);
    expect(sealed.find((batch) => batch.batchId === "batch-007")?.searchFilter).toBeTypeOf("string");
    expect(sealed.find((batch) => batch.batchId === "batch-031")?.searchFilter).toBeUndefined();
    for (const batch of sealed) expect((await target.apply(batch)).ok).toBe(true);
    const filterOf = async (db: typeof t.region.database.db, batchId: string) => {
      const [row] = await db
        .select({ filter: batches.searchFilter })
        .from(batches)
        .where(and(eq(batches.appId, appId), eq(batches.batchId, batchId)));
      return row?.filter ? Buffer.from(row.filter).toString("hex") : null;
    };
    expect(await filterOf(peer.region.database.db, "batch-007")).toBe(
      await filterOf(t.region.database.db, "batch-007"),
    );
    expect(await filterOf(peer.region.database.db, "batch-031")).toBeNull();
    const page = await peer.region.store.readLogs(appId, { limit: 100, q: rare });
    expect(page.ok && page.value.logs.map((line) => line.batchId)).toEqual(["batch-007", "batch-031"]);
  });

  it("serves a deep page from its cursor exactly as following every cursor reaches it", async () => {
    const { store } = countingStore();
    for (const query of [{}, { q: "haystack" }, { order: "desc" as const }, { q: "line 1", order: "desc" as const }]) {
      const { keys, pages } = await allPages(store, { ...query, limit: 9 });
      expect(pages.length).toBeGreaterThan(5);
      // Page 5 asked for directly, from the cursor page 4 ended with.
      const direct = await store.readLogs(appId, { ...query, limit: 9, cursor: pages[3]?.nextCursor ?? undefined });
      expect(direct.ok && direct.value).toEqual(pages[4]);
      const whole = await store.readLogs(appId, { ...query, limit: 1000 });
      expect(whole.ok && whole.value.logs.map((line) => `${line.batchId}#${line.index}`)).toEqual(keys);
    }
  });
});
