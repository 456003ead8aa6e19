/**
 * `GET /internal/v1/apps/:appId/settings` (a read key) and `PUT` (a manage key): an app's
 * settings, as the edge reads them and fans a change out to every region (`PATCH /v1/app`). The
 * body names the change's time; the region keeps the latest (store/settings.ts), so the answer is
 * what it holds afterwards, which may be a later change than this one.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { type AppSettingsAnswer, appSettingsChangeSchema } from "../../shared/lifecycle.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireAppKey } from "../read-key.ts";
import { controlBodyBytesMax, parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";
import type { BatchStore } from "../store/types.ts";

export function appSettingsRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>()
    .get("/apps/:appId/settings", guard, requireAppKey({ store }, "read"), async (c) => {
      const app = await store.appSettings(parseAppId(c.req.param("appId")));
      if (!app) throw new ApiError("NOT_FOUND", "no such app in this region");
      return c.json({ app } satisfies AppSettingsAnswer);
    })
    .put("/apps/:appId/settings", guard, requireAppKey({ store }, "manage"), async (c) =>
      c.json(await changeSettings(store, parseAppId(c.req.param("appId")), c.req.raw)),
    );
}

/** `PUT /admin/v1/apps/:appId/settings`: the same change from the admin CLI, on the admin listener. */
export function adminAppSettingsRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().put("/apps/:appId/settings", guard, async (c) =>
    c.json(await changeSettings(store, parseAppId(c.req.param("appId")), c.req.raw)),
  );
}

async function changeSettings(store: BatchStore, appId: string, request: Request): Promise<AppSettingsAnswer> {
  const raw = await readSignedBody(request, controlBodyBytesMax);
  const change = parseWith(
    appSettingsChangeSchema,
    parseJsonBody(request.headers.get("content-type") ?? undefined, raw),
  );
  const app = await store.changeAppSettings(appId, {
    retentionDays: change.retentionDays,
    updatedAt: Date.parse(change.updatedAt),
  });
  if (!app) throw new ApiError("NOT_FOUND", "no such app in this region");
  return { app };
}
