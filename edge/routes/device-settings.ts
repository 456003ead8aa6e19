/**
 * Remote logging control (shared/device-settings.ts):
 *
 *   PUT /v1/devices/:deviceId/settings  manage key  one device's settings
 *   PUT /v1/settings[?appVersion=v]     manage key  the app's default, or one app version's
 *   GET /v1/settings?device=&appVersion=  any key   the settings in force, from the edge's cache
 *
 * A change is stamped once with the edge's time and sent to every region at once, as `PATCH
 * /v1/app` does; each keeps the latest it heard, anti-entropy brings it to a region that missed it.
 * 200 with the settings now in force at that scope once one region stored it, 503 + Retry-After
 * when none did (nothing changed; the client asks again).
 *
 * The GET is what devices poll: it is answered from the per-app cache (device-settings-cache.ts),
 * never with a region request per device; with every region down it answers what it last fetched,
 * and the built-in default (enabled, from trace) for an app it never fetched. An ingest key is what
 * an SDK holds; a read or manage key (the console) may ask too. Its key is checked against the last
 * revocation list fetched when no fresher one can be had (auth.ts `staleRevocations`): a revoked
 * key learns at most whether logging is on, and every other route still fails closed.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { describeIssues, parseWith } from "../../shared/batch.ts";
import {
  deviceSettingAnswerSchema,
  deviceSettingsSchema,
  type EffectiveSettings,
  effectiveSettings,
  effectiveSettingsQuerySchema,
  type SettingScope,
  scopeValueSchema,
  settingsScopeQuerySchema,
} from "../../shared/device-settings.ts";
import { ApiError } from "../../shared/errors.ts";
import { verifyKey } from "../../shared/keys.ts";
import { queryToInput } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import { readJson } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { changeEveryRegion } from "../routing/region-answer.ts";

export const settings = new Hono<EdgeEnv>()
  .get("/", anyKey(), async (c) => {
    const query = effectiveSettingsQuerySchema.safeParse(queryToInput(c.req.query()));
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    return c.json(await settingsFor(c, query.data.device, query.data.appVersion));
  })
  .put("/", requireKey("manage"), async (c) => {
    const query = settingsScopeQuerySchema.safeParse(queryToInput(c.req.query()));
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    const { appVersion } = query.data;
    return appVersion === undefined ? change(c, "app", "") : change(c, "version", appVersion);
  });

export const deviceSettingsRoute = new Hono<EdgeEnv>().put("/:deviceId/settings", requireKey("manage"), async (c) => {
  const deviceId = scopeValueSchema.safeParse(c.req.param("deviceId"));
  if (!deviceId.success) throw new ApiError("BAD_REQUEST", describeIssues(deviceId.error, "deviceId"));
  return change(c, "device", deviceId.data);
});

/**
 * The settings a device obeys, from the cache; the built-in default when nothing was ever fetched
 * for the app and no region answers (see the header). The Bugfender adapter answers from it too.
 */
export async function settingsFor(
  c: Context<EdgeEnv>,
  device: string | undefined,
  appVersion: string | undefined,
): Promise<EffectiveSettings> {
  const held = await c.var.services.deviceSettings.current(c.var.appId, c.var.appKey, {
    requestId: c.var.requestId,
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  });
  return effectiveSettings(held ?? [], device, appVersion);
}

/** An ingest key (what SDKs hold) or a read key (a manage key, the console's cookie). */
function anyKey(): MiddlewareHandler<EdgeEnv> {
  return createMiddleware<EdgeEnv>(async (c, next) => {
    const bearer = /^Bearer +(\S+) *$/i.exec(c.req.header("Authorization") ?? "")?.[1];
    const verified = bearer ? await verifyKey(c.var.config.keySecret, bearer) : null;
    await requireKey(verified?.kind === "ingest" ? "ingest" : "read", { staleRevocations: true })(c, next);
  });
}

async function change(c: Context<EdgeEnv>, scope: SettingScope, value: string): Promise<Response> {
  const wanted = parseWith(deviceSettingsSchema, await readJson(c.req.raw));
  const body = { scope, value, ...wanted, updatedAt: new Date().toISOString() };
  return changeEveryRegion(
    c,
    { pathAndQuery: internalPaths.deviceSettings(c.var.appId), body },
    deviceSettingAnswerSchema,
    ({ setting }) => {
      c.var.services.deviceSettings.remember(c.var.appId, setting);
      return c.json({
        enabled: setting.enabled,
        minLevel: setting.minLevel,
        source: setting.scope,
      } satisfies EffectiveSettings);
    },
  );
}
