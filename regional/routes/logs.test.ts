// Reading logs back: time order across overlapping batches, filters, cursor paging (also when a
// page stops at its scan bound), tampered ciphertexts reported by batch, and the devices list.
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { type Batch, type Level, levelRank, levels, parseBatch } from "../../shared/batch.ts";
import { systemClock } from "../../shared/clock.ts";
import type { DeviceRecord, LogPage, LogQuery, LogRecord } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { batches } from "../db/schema/index.ts";
import { createBatchStore } from "../store/index.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, readKeyFor, signedRequest, testAppId, testKeyring, useTestRegion } from "../testing/harness.ts";

/** The read contract, spelled out: every stored line, filtered, in (time, batch id, index) order. */
function expectedLines(stored: Batch[], query: Partial<LogQuery> = {}): string[] {
  const lines = stored.flatMap((batch) =>
    batch.logs.map((line, index) => ({ ...line, index, batchId: batch.batchId, deviceId: batch.device.id })),
  );
  return lines
    .filter(
      (line) =>
        (query.device === undefined || line.deviceId === query.device) &&
        (query.from === undefined || line.ts >= query.from) &&
        (query.to === undefined || line.ts < query.to) &&
        (query.level === undefined || levelRank(line.level) >= levelRank(query.level)) &&
        (query.q === undefined || line.text.toLowerCase().includes(query.q.toLowerCase())),
    )
    .sort((a, b) => a.ts - b.ts || (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0) || a.index - b.index)
    .map((line) => `${line.batchId}#${line.index}`);
}

const lineKey = (record: LogRecord) => `${record.batchId}#${Number(record.text.split(" ")[1])}`;

/** Small deterministic PRNG, so a failing layout can be reproduced. */
function prng(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
}

describe.each(drivers)("GET logs on %s", (kind) => {
  const keyring = testKeyring();
  const appId = testAppId();
  const stored: Batch[] = [];

  const t = useTestRegion(kind, { keyring });

  beforeAll(async () => {
    // Overlapping spans on three devices, shared timestamps across batches, all levels, mixed case text.
    const random = prng(7);
    for (let b = 0; b < 24; b++) {
      const start = baseTs + random(400);
      const lines = Array.from({ length: 1 + random(7) }, (_, i) => ({
        ts: start + random(120),
        level: levels[random(levels.length)] as Level,
        text: `line ${i} ${random(4) === 0 ? "Needle" : "hay"} of batch ${b}`,
      }));
      const batch = parseBatch(
        makeBatch({
          batchId: `${String(random(1000)).padStart(3, "0")}-batch-${b}`,
          deviceId: `device-${random(3)}`,
          lines,
        }),
      );
      expect((await t.region.store.put(appId, batch)).ok).toBe(true);
      stored.push(batch);
    }
  });

  /** A region serves reads only to a live read key of the app: one per app, registered once. */
  const readKeys = new Map<string, Promise<string>>();
  function readKeyOf(app: string): Promise<string> {
    let key = readKeys.get(app);
    if (!key) {
      key = readKeyFor(t.region, app);
      readKeys.set(app, key);
    }
    return key;
  }

  async function read(app: string, params: Record<string, string | number> = {}): Promise<Response> {
    const query = new URLSearchParams(
      Object.entries(params).map(([key, value]): [string, string] => [key, String(value)]),
    );
    const suffix = query.size > 0 ? `?${query}` : "";
    return signedRequest(t.region.app, "GET", `${internalPaths.logs(app)}${suffix}`, { appKey: await readKeyOf(app) });
  }

  async function readPage(app: string, params: Record<string, string | number> = {}): Promise<LogPage> {
    const response = await read(app, params);
    expect(response.status).toBe(200);
    return (await response.json()) as LogPage;
  }

  it("returns every line in time order, ties by batch id then index, with device and batch ids", async () => {
    const page = await readPage(appId, { limit: 1000 });
    expect(page.logs.map(lineKey)).toEqual(expectedLines(stored));
    expect(page.nextCursor).toBeNull();
    expect(page.integrityErrors).toEqual([]);
    const first = page.logs[0] as LogRecord;
    const source = stored.find((batch) => batch.batchId === first.batchId) as Batch;
    expect(first.deviceId).toBe(source.device.id);
    expect(first.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it.each<[string, Partial<LogQuery>]>([
    ["device", { device: "device-1" }],
    ["from (inclusive)", { from: baseTs + 200 }],
    ["to (exclusive)", { to: baseTs + 150 }],
    ["from and to", { from: baseTs + 100, to: baseTs + 300 }],
    ["minimum level", { level: "warn" }],
    ["text, case-insensitively", { q: "nEEdle" }],
    ["everything at once", { device: "device-2", from: baseTs + 50, to: baseTs + 450, level: "debug", q: "needle" }],
  ])("filters by %s", async (_name, query) => {
    const expected = expectedLines(stored, query);
    expect(expected.length).toBeGreaterThan(0);
    const page = await readPage(appId, { limit: 1000, ...query } as unknown as Record<string, string | number>);
    expect(page.logs.map(lineKey)).toEqual(expected);
    for (const line of page.logs) {
      if (query.device) expect(line.deviceId).toBe(query.device);
    }
  });

  it("accepts from and to as ISO-8601 too", async () => {
    const query = { from: baseTs + 100, to: baseTs + 300 };
    const page = await readPage(appId, {
      limit: 1000,
      from: new Date(query.from).toISOString(),
      to: new Date(query.to).toISOString(),
    });
    expect(page.logs.map(lineKey)).toEqual(expectedLines(stored, query));
  });

  async function pageThrough(
    readOne: (cursor: string | undefined) => Promise<LogPage>,
  ): Promise<{ keys: string[]; pages: number }> {
    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await readOne(cursor);
      keys.push(...page.logs.map(lineKey));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
      expect(pages).toBeLessThan(500);
    } while (cursor);
    return { keys, pages };
  }

  it("pages with limit and cursor through interleaved batches without loss or repeats", async () => {
    for (const [limit, query] of [
      [1, {}],
      [4, {}],
      [3, { level: "error" }],
      [2, { q: "needle", from: baseTs + 60 }],
    ] as const) {
      const expected = expectedLines(stored, query);
      const { keys, pages } = await pageThrough((cursor) =>
        readPage(appId, { ...query, limit, ...(cursor ? { cursor } : {}) }),
      );
      expect(keys).toEqual(expected);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / limit));
    }
  });

  it("keeps the order when a page stops at its bound on batches opened", async () => {
    const { codec, keystore } = t.region;
    for (const batchesScannedMax of [1, 3]) {
      const store = createBatchStore({
        db: t.region.database.db,
        codec,
        keystore,
        clock: systemClock,
        batchesScannedMax,
      });
      for (const [limit, query] of [
        [1000, {}],
        [5, { device: "device-0" }],
        [1000, { q: "needle" }],
      ] as const) {
        const { keys, pages } = await pageThrough(async (cursor) => {
          const page = await store.readLogs(appId, { limit, cursor, ...query });
          if (!page.ok) throw new Error(page.error.message);
          return page.value;
        });
        expect(keys).toEqual(expectedLines(stored, query));
        // A small bound forces short pages: the cursor, not the limit, carried the read.
        expect(pages).toBeGreaterThan(1);
      }
    }
  });

  it("keeps the order when a page stops at its budget of stored bytes opened", async () => {
    const { codec, keystore } = t.region;
    // One byte: every page opens one batch past its start, then stops on the byte budget alone.
    const store = createBatchStore({
      db: t.region.database.db,
      codec,
      keystore,
      clock: systemClock,
      storedBytesOpenedMax: 1,
    });
    const unbounded = createBatchStore({ db: t.region.database.db, codec, keystore, clock: systemClock });
    for (const query of [{}, { device: "device-0" }]) {
      const { keys, pages } = await pageThrough(async (cursor) => {
        const page = await store.readLogs(appId, { limit: 1000, cursor, ...query });
        if (!page.ok) throw new Error(page.error.message);
        return page.value;
      });
      expect(keys).toEqual(expectedLines(stored, query));
      const whole = await unbounded.readLogs(appId, { limit: 1000, ...query });
      expect(whole.ok && whole.value.nextCursor).toBeNull();
      expect(pages).toBeGreaterThan(2);
    }
  });

  it("answers an app with no logs with an empty page", async () => {
    expect(await readPage(testAppId())).toEqual({ logs: [], nextCursor: null, prevCursor: null, integrityErrors: [] });
  });

  it.each([
    ["a cursor it did not write", { cursor: "not-a-cursor" }, "cursor"],
    ["a cursor of the wrong shape", { cursor: Buffer.from('{"ts":1}').toString("base64url") }, "cursor"],
    ["an unknown level", { level: "loud" }, "level"],
    ["a limit of 0", { limit: 0 }, "limit"],
    ["a limit over the maximum", { limit: 1001 }, "limit"],
    ["a bad time", { from: "last tuesday" }, "from"],
    ["an unknown parameter", { sort: "desc" }, "sort"],
    ["an unknown order", { order: "sideways" }, "order"],
    ["an unknown level in a set", { levels: "error,loud" }, "levels"],
    ["an empty level set", { levels: "," }, "levels"],
    ["a NUL in tag", { tag: "a\u0000b" }, "tag"],
    ["around without an index", { around: "batch-0001" }, "around"],
    ["around with an index past a batch", { around: "batch-0001:1000" }, "around"],
    ["around with a bad batch id", { around: "no/such:1" }, "around"],
    ["around with a cursor", { around: "batch-0001:1", cursor: "WzE3Njc0Mjg4MDAwMDAsIiIsLTFd" }, "around"],
    ["a huge limit", { limit: "1e400" }, "limit"],
  ])("refuses %s with 400", async (_name, params, field) => {
    const response = await read(appId, params);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(body.error.message).toContain(field);
  });

  it("reports a batch whose ciphertext was tampered with and still returns the others", async () => {
    const otherApp = testAppId();
    const good = parseBatch(makeBatch({ batchId: "good-batch-1", lines: [{ ts: baseTs }, { ts: baseTs + 20 }] }));
    const bad = parseBatch(makeBatch({ batchId: "bad-batch-1", lines: [{ ts: baseTs + 10 }] }));
    const wrapped = parseBatch(makeBatch({ batchId: "bad-batch-2", lines: [{ ts: baseTs + 15 }] }));
    for (const batch of [good, bad, wrapped]) expect((await t.region.store.put(otherApp, batch)).ok).toBe(true);
    const row = (batchId: string) => and(eq(batches.appId, otherApp), eq(batches.batchId, batchId));
    await t.region.database.db
      .update(batches)
      .set({ ciphertext: sql`set_byte(${batches.ciphertext}, 30, get_byte(${batches.ciphertext}, 30) # 1)` })
      .where(row("bad-batch-1"));
    await t.region.database.db
      .update(batches)
      .set({ wrappedKey: sql`set_byte(${batches.wrappedKey}, 30, get_byte(${batches.wrappedKey}, 30) # 1)` })
      .where(row("bad-batch-2"));

    const page = await readPage(otherApp);
    expect(page.logs.map((line) => line.batchId)).toEqual(["good-batch-1", "good-batch-1"]);
    expect(page.integrityErrors).toEqual([
      {
        batchId: "bad-batch-1",
        code: "INTEGRITY",
        message: expect.stringMatching(/^ciphertext does not authenticate under device key "dk_/),
      },
      {
        batchId: "bad-batch-2",
        code: "INTEGRITY",
        message: expect.stringMatching(/^ciphertext does not authenticate under device key "dk_/),
      },
    ]);
    // The same id sent again cannot be compared with an unreadable copy: that is an integrity error, not a duplicate.
    const again = await signedRequest(t.region.app, "POST", internalPaths.batches(otherApp), { json: bad });
    expect(again.status).toBe(500);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("INTEGRITY");
  });

  it("reports a batch whose clear metadata was altered in the database, whichever field", async () => {
    const otherApp = testAppId();
    const stored = ["moved-batch-1", "stretched-batch-1", "promoted-batch-1", "intact-batch-1"].map((batchId, index) =>
      parseBatch(makeBatch({ batchId, lines: [{ ts: baseTs + index, level: "info" }] })),
    );
    for (const batch of stored) expect((await t.region.store.put(otherApp, batch)).ok).toBe(true);
    const row = (batchId: string) => and(eq(batches.appId, otherApp), eq(batches.batchId, batchId));
    const { db } = t.region.database;
    await db.update(batches).set({ deviceId: "someone-else" }).where(row("moved-batch-1"));
    await db
      .update(batches)
      .set({ lastTs: new Date(Date.UTC(2099, 0, 1)) })
      .where(row("stretched-batch-1"));
    await db.update(batches).set({ errorCount: 1 }).where(row("promoted-batch-1"));

    const page = await readPage(otherApp);
    expect(page.logs.map((line) => line.batchId)).toEqual(["intact-batch-1"]);
    expect(page.integrityErrors.map((error) => error.batchId).sort()).toEqual([
      "moved-batch-1",
      "promoted-batch-1",
      "stretched-batch-1",
    ]);
  });

  it("lists devices by last activity with their latest info", async () => {
    const app = testAppId();
    const put = async (batch: Batch) => expect((await t.region.store.put(app, parseBatch(batch))).ok).toBe(true);
    await put(
      makeBatch({
        deviceId: "phone",
        device: { appVersion: "1.0" },
        lines: [{ ts: baseTs + 100 }, { ts: baseTs + 200 }],
      }),
    );
    await put(makeBatch({ deviceId: "tablet", device: { model: "Tab" }, lines: [{ ts: baseTs + 300 }] }));
    // An older batch arriving late widens the span but does not roll the info back.
    await put(makeBatch({ deviceId: "phone", device: { appVersion: "0.9" }, lines: [{ ts: baseTs + 50 }] }));
    await put(makeBatch({ deviceId: "phone", device: { appVersion: "1.1" }, lines: [{ ts: baseTs + 400 }] }));

    const response = await signedRequest(t.region.app, "GET", internalPaths.devices(app), {
      appKey: await readKeyOf(app),
    });
    expect(response.status).toBe(200);
    const { devices } = (await response.json()) as { devices: DeviceRecord[] };
    expect(devices).toEqual([
      {
        id: "phone",
        name: "Test phone",
        model: null,
        os: "android",
        osVersion: null,
        appVersion: "1.1",
        appBuild: null,
        locale: null,
        firstSeen: new Date(baseTs + 50).toISOString(),
        lastSeen: new Date(baseTs + 400).toISOString(),
        counts: { trace: 0, debug: 0, info: 4, warn: 0, error: 0, fatal: 0 },
      },
      expect.objectContaining({
        id: "tablet",
        model: "Tab",
        appVersion: null,
        lastSeen: new Date(baseTs + 300).toISOString(),
      }),
    ]);
  });
});
