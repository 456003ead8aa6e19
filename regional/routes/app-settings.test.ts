// The lifecycle routes a region serves the edge (settings, usage) and the admin CLI (settings):
// who may call them, what they answer, and that bad input is a 400 with a JSON error naming it.
import { describe, expect, it } from "vitest";
import { appSettingsAnswerSchema, retentionDaysDefault, usageAnswerSchema } from "../../shared/lifecycle.ts";
import { adminPaths, internalPaths } from "../../shared/regions.ts";
import { makeBatch } from "../testing/fixtures.ts";
import { adminRequest, appWithKeys, drivers, signedRequest, testAppId, useTestRegion } from "../testing/harness.ts";

describe.each(drivers)("app settings and usage routes on %s", (kind) => {
  const t = useTestRegion(kind);

  const newApp = () => appWithKeys(t.region, "settings app");

  it("reads settings with a read key and changes them only with a manage key", async () => {
    const { appId, keys } = await newApp();
    const read = await signedRequest(t.region.app, "GET", internalPaths.appSettings(appId), { appKey: keys.read });
    expect(read.status).toBe(200);
    const defaults = appSettingsAnswerSchema.parse(await read.json()).app;
    expect(defaults).toMatchObject({ retentionDays: retentionDaysDefault, updatedAt: null });

    const change = { retentionDays: 7, updatedAt: new Date().toISOString() };
    for (const keyKind of ["ingest", "read"] as const) {
      const refused = await signedRequest(t.region.app, "PUT", internalPaths.appSettings(appId), {
        appKey: keys[keyKind],
        json: change,
      });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ error: { code: "FORBIDDEN" } });
    }
    const changed = await signedRequest(t.region.app, "PUT", internalPaths.appSettings(appId), {
      appKey: keys.manage,
      json: change,
    });
    expect(changed.status).toBe(200);
    expect(appSettingsAnswerSchema.parse(await changed.json()).app).toMatchObject({ retentionDays: 7 });

    // The admin listener takes the same change, without an app key.
    const admin = await adminRequest(t.region, "PUT", adminPaths.appSettings(appId), {
      json: { retentionDays: 14, updatedAt: new Date(Date.now() + 1000).toISOString() },
    });
    expect(admin.status).toBe(200);
    expect((await t.region.store.appSettings(appId))?.retentionDays).toBe(14);
    const unknown = await adminRequest(t.region, "PUT", adminPaths.appSettings(testAppId()), { json: change });
    expect(unknown.status).toBe(404);
  });

  it("refuses a bad settings body with 400 and a JSON error", async () => {
    const { appId, keys } = await newApp();
    for (const json of [
      { retentionDays: 0, updatedAt: new Date().toISOString() },
      { retentionDays: 366, updatedAt: new Date().toISOString() },
      { retentionDays: 7 },
      { retentionDays: 7, updatedAt: "yesterday" },
      { retentionDays: 7, updatedAt: new Date().toISOString(), extra: true },
    ]) {
      const answer = await signedRequest(t.region.app, "PUT", internalPaths.appSettings(appId), {
        appKey: keys.manage,
        json,
      });
      expect(answer.status, JSON.stringify(json)).toBe(400);
      expect(await answer.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
  });

  it("answers usage to a read key, and 400 naming a bad parameter", async () => {
    const { appId, keys } = await newApp();
    await t.region.store.put(appId, makeBatch({ lines: [{ ts: Date.now() }, { ts: Date.now() }] }));
    const answer = await signedRequest(t.region.app, "GET", internalPaths.usage(appId), { appKey: keys.read });
    expect(answer.status).toBe(200);
    expect(usageAnswerSchema.parse(await answer.json()).totals).toMatchObject({ batches: 1, lines: 2 });
    const ingest = await signedRequest(t.region.app, "GET", internalPaths.usage(appId), { appKey: keys.ingest });
    expect(ingest.status).toBe(403);
    for (const [query, parameter] of [
      ["from=2026-02-30", "from"],
      ["to=tomorrow", "to"],
      ["from=2026-12-05&to=2026-12-04", "from"],
      ["days=3", "days"],
    ]) {
      const bad = await signedRequest(t.region.app, "GET", `${internalPaths.usage(appId)}?${query}`, {
        appKey: keys.read,
      });
      expect(bad.status, query).toBe(400);
      const body = (await bad.json()) as { error: { message: string } };
      expect(body.error.message, query).toContain(parameter);
    }
  });
});
