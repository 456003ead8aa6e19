// Remote logging control in a region: who may read and change the settings, the latest change
// winning whatever order changes arrive in, bad input as a 400, and anti-entropy's control merge
// carrying a change to a region that missed it (and not to one that erased the app).
import { describe, expect, it } from "vitest";
import { deviceSettingAnswerSchema, deviceSettingsListSchema } from "../../shared/device-settings.ts";
import { adminPaths, internalPaths } from "../../shared/regions.ts";
import { adminRequest, appWithKeys, drivers, signedRequest, testAppId, useTestRegion } from "../testing/harness.ts";

describe.each(drivers)("device settings on %s", (kind) => {
  const t = useTestRegion(kind);

  const newApp = () => appWithKeys(t.region, "controlled app");

  const at = (ms: number) => new Date(ms).toISOString();

  it("changes a setting with a manage key only, lists it with any key, keeps the latest", async () => {
    const { appId, keys } = await newApp();
    const path = internalPaths.deviceSettings(appId);
    const change = { scope: "device", value: "phone-1", enabled: false, minLevel: "warn", updatedAt: at(2000) };
    for (const keyKind of ["ingest", "read"] as const) {
      const refused = await signedRequest(t.region.app, "PUT", path, { appKey: keys[keyKind], json: change });
      expect(refused.status).toBe(403);
    }
    const put = await signedRequest(t.region.app, "PUT", path, { appKey: keys.manage, json: change });
    expect(put.status).toBe(200);
    expect(deviceSettingAnswerSchema.parse(await put.json()).setting).toMatchObject({
      enabled: false,
      updatedAt: 2000,
    });

    // An older change loses; the answer is what the region holds.
    const older = await signedRequest(t.region.app, "PUT", path, {
      appKey: keys.manage,
      json: { ...change, enabled: true, updatedAt: at(1000) },
    });
    expect(deviceSettingAnswerSchema.parse(await older.json()).setting).toMatchObject({ enabled: false });

    // The admin listener takes a change without an app key and lists the same rows.
    const admin = await adminRequest(t.region, "PUT", adminPaths.deviceSettings(appId), {
      json: { scope: "app", value: "", enabled: true, minLevel: "info", updatedAt: at(3000) },
    });
    expect(admin.status).toBe(200);
    for (const keyKind of ["ingest", "read", "manage"] as const) {
      const list = await signedRequest(t.region.app, "GET", path, { appKey: keys[keyKind] });
      expect(list.status).toBe(200);
      const { settings } = deviceSettingsListSchema.parse(await list.json());
      expect(settings.map((s) => `${s.scope}:${s.value}:${s.enabled}:${s.minLevel}`).sort()).toEqual([
        "app::true:info",
        "device:phone-1:false:warn",
      ]);
    }
    const other = await newApp();
    expect((await signedRequest(t.region.app, "GET", path, { appKey: other.keys.ingest })).status).toBe(401);
    const unknown = await adminRequest(t.region, "GET", adminPaths.deviceSettings(testAppId()));
    expect(unknown.status).toBe(404);
  });

  it("refuses a bad change with 400 and a JSON error", async () => {
    const { appId, keys } = await newApp();
    const good = { scope: "version", value: "1.2.3", enabled: true, minLevel: "info", updatedAt: at(1) };
    for (const json of [
      { ...good, minLevel: "verbose" },
      { ...good, enabled: "yes" },
      { ...good, scope: "app" },
      { ...good, value: "" },
      { ...good, updatedAt: "now" },
      { ...good, extra: 1 },
    ]) {
      const answer = await signedRequest(t.region.app, "PUT", internalPaths.deviceSettings(appId), {
        appKey: keys.manage,
        json,
      });
      expect(answer.status, JSON.stringify(json)).toBe(400);
      expect(await answer.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
  });

  it("merges settings from a peer's control state by the same rule, and drops them with the app", async () => {
    const { appId } = await newApp();
    const store = t.region.store;
    await store.changeDeviceSetting(appId, {
      scope: "app",
      value: "",
      enabled: true,
      minLevel: "debug",
      updatedAt: 10,
    });
    const peer = await t.region.replicas.exportControl();
    const own = peer.deviceSettings.filter((setting) => setting.appId === appId);
    expect(own).toHaveLength(1);
    // A peer's later change wins, an older one does not; an older peer sends no field at all.
    await t.region.replicas.mergeControl({
      ...peer,
      deviceSettings: [
        { appId, scope: "app", value: "", enabled: false, minLevel: "error", updatedAt: 20 },
        { appId, scope: "device", value: "d", enabled: false, minLevel: "trace", updatedAt: 5 },
      ],
    });
    await t.region.replicas.mergeControl({
      ...peer,
      deviceSettings: [{ appId, scope: "app", value: "", enabled: true, minLevel: "fatal", updatedAt: 15 }],
    });
    const held = await store.deviceSettings(appId);
    expect(held?.find((s) => s.scope === "app")).toMatchObject({ enabled: false, minLevel: "error", updatedAt: 20 });
    expect(held).toHaveLength(2);
    // Settings of an app this region does not know are not kept.
    const stranger = testAppId();
    await t.region.replicas.mergeControl({
      erasures: [],
      apps: [],
      keys: [],
      deviceSettings: [{ appId: stranger, scope: "app", value: "", enabled: false, minLevel: "info", updatedAt: 1 }],
    });
    expect(await store.deviceSettings(stranger)).toBeNull();
  });
});
