// The reads the console needs from GET logs: both orders, a level set and a tag, paging back with
// prevCursor, a page around one line, and keyset paging that stays correct past its scan bounds.
import { beforeAll, describe, expect, it } from "vitest";
import { type Batch, type Level, levels, parseBatch } from "../../shared/batch.ts";
import { systemClock } from "../../shared/clock.ts";
import type { LogPage, LogQuery, LogRecord } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { createBatchStore } from "../store/index.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, readKeyFor, signedRequest, testAppId, testKeyring, useTestRegion } from "../testing/harness.ts";

type Line = { id: string; ts: number; batchId: string; index: number; level: Level; tag?: string; device: string };

const byPosition = (a: Line, b: Line) =>
  a.ts - b.ts || (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0) || a.index - b.index;
const idOf = (record: LogRecord) => `${record.batchId}:${record.index}`;

describe.each(drivers)("GET logs for the console on %s", (kind) => {
  const keyring = testKeyring();
  const appId = testAppId();
  const all: Line[] = [];
  const t = useTestRegion(kind, { keyring });
  let readKey: string;

  beforeAll(async () => {
    readKey = await readKeyFor(t.region, appId);
    // Overlapping batches on two devices, with tags on some lines and every level.
    for (let b = 0; b < 30; b++) {
      const start = baseTs + ((b * 37) % 500);
      const lines = Array.from({ length: 1 + (b % 5) }, (_, i) => ({
        ts: start + ((i * 13 + b) % 90),
        level: levels[(b + i) % levels.length] as Level,
        ...(i % 2 === 0 ? { tag: b % 3 === 0 ? "net" : "ui" } : {}),
      }));
      const batch: Batch = parseBatch(
        makeBatch({ batchId: `batch-${String(b).padStart(3, "0")}`, deviceId: `device-${b % 2}`, lines }),
      );
      expect((await t.region.store.put(appId, batch)).ok).toBe(true);
      batch.logs.forEach((line, index) => {
        all.push({
          id: `${batch.batchId}:${index}`,
          ts: line.ts,
          batchId: batch.batchId,
          index,
          level: line.level,
          tag: line.tag,
          device: batch.device.id,
        });
      });
    }
    all.sort(byPosition);
  });

  async function read(params: Record<string, string | number>, app = appId, key?: string): Promise<Response> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const suffix = query.size > 0 ? `?${query}` : "";
    return signedRequest(t.region.app, "GET", `${internalPaths.logs(app)}${suffix}`, { appKey: key ?? readKey });
  }
  async function page(params: Record<string, string | number>): Promise<LogPage> {
    const response = await read(params);
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as LogPage;
  }
  async function pageThrough(params: Record<string, string | number>): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 500; pages++) {
      const next = await page({ ...params, ...(cursor ? { cursor } : {}) });
      ids.push(...next.logs.map(idOf));
      if (!next.nextCursor) return ids;
      cursor = next.nextCursor;
    }
    throw new Error("too many pages");
  }

  it("gives every line an index, its position in its batch", async () => {
    const first = await page({ limit: 1000 });
    expect(first.logs.map(idOf)).toEqual(all.map((line) => line.id));
    expect(first.prevCursor).toBeNull();
  });

  it("reads newest first with order=desc, paging too", async () => {
    const reversed = all.map((line) => line.id).reverse();
    expect((await page({ order: "desc", limit: 1000 })).logs.map(idOf)).toEqual(reversed);
    expect(await pageThrough({ order: "desc", limit: 3 })).toEqual(reversed);
    const device = all.filter((line) => line.device === "device-1" && line.ts < baseTs + 300);
    expect(await pageThrough({ order: "desc", limit: 2, device: "device-1", to: baseTs + 300 })).toEqual(
      device.map((line) => line.id).reverse(),
    );
  });

  it("filters by a level set, with a minimum level, and by tag", async () => {
    const wanted = (line: Line) => (line.level === "error" || line.level === "debug") && line.tag === "net";
    expect(await pageThrough({ levels: "error,debug", tag: "net", limit: 2 })).toEqual(
      all.filter(wanted).map((line) => line.id),
    );
    // Both apply: error and fatal, at least warn, is error and fatal; debug with at least warn is nothing.
    expect(await pageThrough({ levels: "fatal,error", level: "warn" })).toEqual(
      all.filter((line) => line.level === "error" || line.level === "fatal").map((line) => line.id),
    );
    expect((await page({ levels: "debug", level: "warn" })).logs).toEqual([]);
  });

  it("goes back from any page with prevCursor, nearest line first", async () => {
    const first = await page({ limit: 7 });
    const second = await page({ limit: 7, cursor: first.nextCursor as string });
    expect(second.prevCursor).not.toBeNull();
    const back = await page({ limit: 7, cursor: second.prevCursor as string });
    expect(back.logs.map(idOf)).toEqual(first.logs.map(idOf).reverse());
    // And forward again from the page read backwards.
    const forward = await page({ limit: 7, cursor: back.prevCursor as string });
    expect(forward.logs.map(idOf)).toEqual(second.logs.map(idOf));
  });

  it("opens a page around one line, with context on both sides, and scrolls on from it", async () => {
    const anchor = all[40] as Line;
    const around = await page({ around: anchor.id, limit: 10 });
    expect(around.logs.map(idOf)).toEqual(all.slice(35, 45).map((line) => line.id));
    const after = await page({ cursor: around.nextCursor as string, limit: 5 });
    expect(after.logs.map(idOf)).toEqual(all.slice(45, 50).map((line) => line.id));
    const before = await page({ cursor: around.prevCursor as string, limit: 5 });
    expect(before.logs.map(idOf)).toEqual(
      all
        .slice(30, 35)
        .map((line) => line.id)
        .reverse(),
    );
    // Near the start there is less before it: the page holds what there is.
    const early = await page({ around: (all[1] as Line).id, limit: 10 });
    expect(early.logs.map(idOf)).toEqual(all.slice(0, 10).map((line) => line.id));
    expect(early.prevCursor).toBeNull();
  });

  it("answers 404 for a line it does not hold, and never shows another app's line", async () => {
    for (const around of ["batch-999:0", "batch-000:999"]) {
      const response = await read({ around });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain("around");
    }
    const other = testAppId();
    const response = await read({ around: (all[0] as Line).id }, other, await readKeyFor(t.region, other));
    expect(response.status).toBe(404);
  });

  it("pages both ways past its scan bounds without loss or repeats", async () => {
    const { codec, keystore } = t.region;
    const store = createBatchStore({
      db: t.region.database.db,
      codec,
      keystore,
      clock: systemClock,
      batchesScannedMax: 2,
    });
    for (const query of [{ order: "asc" }, { order: "desc" }, { order: "desc", device: "device-0" }] as const) {
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(500);
        const result = await store.readLogs(appId, { limit: 4, cursor, ...query } as LogQuery);
        if (!result.ok) throw new Error(result.error.message);
        ids.push(...result.value.logs.map(idOf));
        if (!result.value.nextCursor) break;
        cursor = result.value.nextCursor;
      }
      const expected = all.filter((line) => !("device" in query) || line.device === query.device).map((l) => l.id);
      expect(ids).toEqual(query.order === "asc" ? expected : expected.reverse());
    }
  });
});
