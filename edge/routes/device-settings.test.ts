// Remote logging control at the edge: a change goes to every region at once with one time (200
// once one stored it, 503 when none did), the most specific scope wins, devices are answered from
// the edge's cache (one region request per app, not per device), with every region down from what
// was cached, and the built-in default when nothing ever was; bad input is a 400 naming it.
import { describe, expect, it } from "vitest";
import { effectiveSettingsSchema } from "../../shared/device-settings.ts";
import type { RoutedRegion } from "../../shared/regions.ts";
import { callWith, errorOf, newApp, received, regionsOf, setMode, spawnRegion } from "../testing/helpers.ts";

const put = (key: string, path: string, body: unknown, regions: readonly RoutedRegion[]) =>
  callWith({ regions }, path, {
    method: "PUT",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const get = (key: string, query: string, regions: readonly RoutedRegion[]) =>
  callWith({ regions }, `/v1/settings${query}`, { headers: { authorization: `Bearer ${key}` } });
const effective = async (response: Response) => {
  expect(response.status).toBe(200);
  return effectiveSettingsSchema.parse(await response.json());
};

describe("remote logging control at the edge", () => {
  it("sends a change to every region with one time; the device's own settings win over version and app", async () => {
    const keys = await newApp();
    const both = [regionsOf.eu, regionsOf.us];
    const device = await put(keys.manage, "/v1/devices/phone-1/settings", { enabled: false, minLevel: "warn" }, both);
    expect(await effective(device)).toEqual({ enabled: false, minLevel: "warn", source: "device" });
    const puts = (await received(keys.appId)).filter((call) => call.method === "PUT");
    expect(puts.map((call) => call.stub).sort()).toEqual(["eu-west", "us-east"]);
    expect(new Set(puts.map((call) => call.body)).size).toBe(1);

    await effective(await put(keys.manage, "/v1/settings", { enabled: true, minLevel: "info" }, both));
    await effective(await put(keys.manage, "/v1/settings?appVersion=2.0", { enabled: true, minLevel: "error" }, both));
    expect(await effective(await get(keys.ingest, "?device=phone-1&appVersion=2.0", both))).toEqual({
      enabled: false,
      minLevel: "warn",
      source: "device",
    });
    expect(await effective(await get(keys.ingest, "?device=phone-2&appVersion=2.0", both))).toMatchObject({
      minLevel: "error",
      source: "version",
    });
    expect(await effective(await get(keys.ingest, "?device=phone-3", both))).toMatchObject({
      minLevel: "info",
      source: "app",
    });
    // The console (a manage key) may read them too.
    expect((await get(keys.manage, "?device=phone-1", both)).status).toBe(200);
  });

  it("answers devices from its cache, and with every region down from what it cached", async () => {
    const keys = await newApp();
    const region = await spawnRegion("settings");
    await effective(await put(keys.manage, "/v1/settings", { enabled: false, minLevel: "debug" }, [region]));
    for (const device of ["a", "b", "c"]) {
      expect(await effective(await get(keys.ingest, `?device=${device}`, [region]))).toMatchObject({ enabled: false });
    }
    const fetches = (await received(`/internal/v1/apps/${keys.appId}/device-settings`)).filter(
      (call) => call.method === "GET",
    );
    expect(fetches).toHaveLength(1);

    await setMode(region, "broken");
    expect(await effective(await get(keys.ingest, "?device=d", [region]))).toEqual({
      enabled: false,
      minLevel: "debug",
      source: "app",
    });
    // An app never fetched, with no region answering: the built-in default, so devices keep logging.
    const other = await newApp();
    expect(await effective(await get(other.ingest, "?device=d", [region]))).toEqual({
      enabled: true,
      minLevel: "trace",
      source: "default",
    });
    // A change nobody stores is a 503 with Retry-After.
    const none = await put(keys.manage, "/v1/settings", { enabled: true, minLevel: "info" }, [region]);
    expect(none.status).toBe(503);
    expect(none.headers.get("retry-after")).not.toBeNull();
  });

  it("needs a manage key to change them, and refuses bad input with 400 without asking a region", async () => {
    const keys = await newApp();
    const regions = [regionsOf.eu];
    for (const key of [keys.ingest, keys.read]) {
      expect((await put(key, "/v1/settings", { enabled: true, minLevel: "info" }, regions)).status).toBe(403);
    }
    for (const body of [
      {},
      { enabled: true },
      { enabled: "no", minLevel: "info" },
      { enabled: true, minLevel: "loud" },
    ]) {
      const answer = await put(keys.manage, "/v1/devices/d/settings", body, regions);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(answer)).message).toMatch(/enabled|minLevel/);
    }
    const longId = "x".repeat(200);
    expect(
      (await put(keys.manage, `/v1/devices/${longId}/settings`, { enabled: true, minLevel: "info" }, regions)).status,
    ).toBe(400);
    expect((await get(keys.ingest, "?colour=red", regions)).status).toBe(400);
    expect((await get(keys.ingest, `?device=${longId}`, regions)).status).toBe(400);
    expect(await received(keys.appId)).toEqual([]);
  });
});
