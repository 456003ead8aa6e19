/**
 * `GET /internal/v1/apps/:appId/device-settings` (any live key of the app): every remote logging
 * setting of the app, which the edge caches to answer devices itself. `PUT` (a manage key): one
 * change, stamped by the edge; the region keeps the latest (store/device-settings.ts), so the
 * answer is what it holds afterwards, which may be a later change than this one. The admin
 * listener serves both for the admin CLI.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import {
  type DeviceSettingsList,
  type deviceSettingAnswerSchema,
  deviceSettingChangeSchema,
} from "../../shared/device-settings.ts";
import { ApiError } from "../../shared/errors.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireAppKey } from "../read-key.ts";
import { controlBodyBytesMax, parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";
import type { BatchStore } from "../store/types.ts";

type Answer = ReturnType<typeof deviceSettingAnswerSchema.parse>;

export function deviceSettingsRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>()
    .get("/apps/:appId/device-settings", guard, requireAppKey({ store }, "any"), async (c) =>
      c.json(await listSettings(store, parseAppId(c.req.param("appId")))),
    )
    .put("/apps/:appId/device-settings", guard, requireAppKey({ store }, "manage"), async (c) =>
      c.json(await changeSetting(store, parseAppId(c.req.param("appId")), c.req.raw)),
    );
}

/** The same on the admin listener, for `admin settings set|show`. */
export function adminDeviceSettingsRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>()
    .get("/apps/:appId/device-settings", guard, async (c) =>
      c.json(await listSettings(store, parseAppId(c.req.param("appId")))),
    )
    .put("/apps/:appId/device-settings", guard, async (c) =>
      c.json(await changeSetting(store, parseAppId(c.req.param("appId")), c.req.raw)),
    );
}

async function listSettings(store: BatchStore, appId: string): Promise<DeviceSettingsList> {
  const settings = await store.deviceSettings(appId);
  if (!settings) throw new ApiError("NOT_FOUND", "no such app in this region");
  return { settings };
}

async function changeSetting(store: BatchStore, appId: string, request: Request): Promise<Answer> {
  const raw = await readSignedBody(request, controlBodyBytesMax);
  const change = parseWith(
    deviceSettingChangeSchema,
    parseJsonBody(request.headers.get("content-type") ?? undefined, raw),
  );
  const setting = await store.changeDeviceSetting(appId, { ...change, updatedAt: Date.parse(change.updatedAt) });
  if (!setting) throw new ApiError("NOT_FOUND", "no such app in this region");
  return { setting };
}
