// The device list the console shows: search over id and info, keyset paging by last seen, line
// counts per level kept at write time (also through the replica path and the migration's backfill).
import { readFileSync } from "node:fs";
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { parseBatch } from "../../shared/batch.ts";
import { encodeDeviceCursor } from "../../shared/cursor.ts";
import type { DevicePage } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { batches, devices } from "../db/schema/index.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, readKeyFor, signedRequest, testAppId, useTestRegion } from "../testing/harness.ts";

describe.each(drivers)("GET devices on %s", (kind) => {
  const t = useTestRegion(kind);
  const appId = testAppId();
  let readKey: string;

  beforeAll(async () => {
    readKey = await readKeyFor(t.region, appId);
    const put = async (deviceId: string, device: Record<string, string>, offset: number, levels: string[]) =>
      expect(
        (
          await t.region.store.put(
            appId,
            parseBatch(
              makeBatch({
                deviceId,
                device,
                lines: levels.map((level, i) => ({ ts: baseTs + offset + i, level: level as "info" })),
              }),
            ),
          )
        ).ok,
      ).toBe(true);
    await put("ios-1", { model: "iPhone 15", os: "iOS", appVersion: "2.1.0" }, 500, ["info", "error", "error"]);
    await put("android-1", { model: "Pixel 8", os: "Android", appVersion: "2.0.0" }, 400, ["warn"]);
    await put("android-2", { name: "Ana's 100% phone", os: "Android", appVersion: "1.9.3" }, 300, ["debug"]);
    await put("web-1", { model: "Chrome", os: "macOS", appVersion: "2.1.0" }, 200, ["trace", "fatal"]);
    await put("ios-1", { model: "iPhone 15", os: "iOS", appVersion: "2.1.0" }, 100, ["info", "fatal"]);
  });

  async function list(params: Record<string, string | number> = {}, app = appId, key = readKey) {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const suffix = query.size > 0 ? `?${query}` : "";
    return signedRequest(t.region.app, "GET", `${internalPaths.devices(app)}${suffix}`, { appKey: key });
  }
  async function page(params: Record<string, string | number> = {}): Promise<DevicePage> {
    const response = await list(params);
    expect(response.status).toBe(200);
    return (await response.json()) as DevicePage;
  }

  it("lists devices by last seen, newest first, with their lines per level", async () => {
    const { devices: found, nextCursor } = await page();
    expect(found.map((device) => device.id)).toEqual(["ios-1", "android-1", "android-2", "web-1"]);
    expect(nextCursor).toBeNull();
    expect(found[0]?.counts).toEqual({ trace: 0, debug: 0, info: 2, warn: 0, error: 2, fatal: 1 });
    expect(found[3]?.counts).toEqual({ trace: 1, debug: 0, info: 0, warn: 0, error: 0, fatal: 1 });
  });

  it.each([
    ["id", "IOS-", ["ios-1"]],
    ["model", "pixel", ["android-1"]],
    ["OS", "android", ["android-1", "android-2"]],
    ["app version", "2.1", ["ios-1", "web-1"]],
    ["name, with LIKE's wildcards taken literally", "100%", ["android-2"]],
    ["an underscore taken literally", "_", []],
  ])("searches by %s", async (_name, q, expected) => {
    expect((await page({ q })).devices.map((device) => device.id)).toEqual(expected);
  });

  it("pages with a cursor, without loss or repeats", async () => {
    const first = await page({ limit: 3 });
    expect(first.devices.map((device) => device.id)).toEqual(["ios-1", "android-1", "android-2"]);
    const second = await page({ limit: 3, cursor: first.nextCursor as string });
    expect(second.devices.map((device) => device.id)).toEqual(["web-1"]);
    expect(second.nextCursor).toBeNull();
  });

  it.each([
    ["a cursor it did not write", { cursor: "nope" }, "cursor"],
    ["a log cursor", { cursor: "WzE3Njc0Mjg4MDAwMDAsIiIsLTFd" }, "cursor"],
    ["a NUL in q", { q: "a\u0000" }, "q"],
    ["a limit past the maximum", { limit: 501 }, "limit"],
    ["a huge limit", { limit: "9".repeat(400) }, "limit"],
    ["an unknown parameter", { sort: "name" }, "sort"],
  ])("refuses %s with 400", async (_name, params, field) => {
    const response = await list(params);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(field);
  });

  it("shows another app nothing, even with a cursor made from this app's device", async () => {
    const other = testAppId();
    const key = await readKeyFor(t.region, other);
    const cursor = encodeDeviceCursor({ lastSeenMs: baseTs + 1000, deviceId: "zzz" });
    const response = await list({ cursor }, other, key);
    expect(await response.json()).toEqual({ devices: [], nextCursor: null });
  });

  it("counts a replica once, also when a version replaces another", async () => {
    const app = testAppId();
    const batch = parseBatch(makeBatch({ deviceId: "r", lines: [{ ts: baseTs, level: "warn" }, { ts: baseTs + 1 }] }));
    expect((await t.region.store.put(app, batch)).ok).toBe(true);
    const [sealed] = await t.region.replicas.loadSealed([{ appId: app, batchId: batch.batchId }]);
    if (!sealed) throw new Error("not stored");
    const { db } = t.region.database;
    const summary = async () => {
      const result = await t.region.store.devices(app, { limit: 10 });
      return result.ok ? result.value.devices[0]?.counts : undefined;
    };
    // The same version again: held, nothing added. An earlier version: replaces, counted once.
    expect(await t.region.replicas.apply(sealed)).toEqual({ ok: true, value: "held" });
    expect(await t.region.replicas.apply({ ...sealed, receivedAt: sealed.receivedAt - 1, origin: "us-east" })).toEqual({
      ok: true,
      value: "replaced",
    });
    expect(await summary()).toEqual({ trace: 0, debug: 0, info: 1, warn: 1, error: 0, fatal: 0 });
    // Stored through the replica path alone.
    await db.delete(batches).where(and(eq(batches.appId, app), eq(batches.batchId, batch.batchId)));
    await db.delete(devices).where(eq(devices.appId, app));
    expect(await t.region.replicas.apply(sealed)).toEqual({ ok: true, value: "stored" });
    expect(await summary()).toEqual({ trace: 0, debug: 0, info: 1, warn: 1, error: 0, fatal: 0 });
  });

  it("backfills counts from the batches' clear metadata (the migration's last statement)", async () => {
    const { db } = t.region.database;
    await db.update(devices).set({ infoCount: 0, errorCount: 0, fatalCount: 0, batchSpanMsMax: 0 });
    const migration = readFileSync(new URL("../db/migrations/0003_console_reads.sql", import.meta.url), "utf8");
    const backfill = migration.split("--> statement-breakpoint").at(-1) as string;
    await db.execute(sql.raw(backfill));
    const { devices: found } = await page({ q: "ios-1" });
    expect(found[0]?.counts).toEqual({ trace: 0, debug: 0, info: 2, warn: 0, error: 2, fatal: 1 });
    const [row] = await db
      .select()
      .from(devices)
      .where(and(eq(devices.appId, appId), eq(devices.deviceId, "ios-1")));
    expect(row?.batchSpanMsMax).toBe(2);
  });
});
