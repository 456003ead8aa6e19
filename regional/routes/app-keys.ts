/** `GET /admin/v1/apps/:appId/keys`: the app's key hashes, with creation and revocation times. */
import { Hono } from "hono";
import { ApiError } from "../../shared/errors.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { parseAppId } from "../request.ts";

export function appKeysRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/keys", guard, async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const keys = await store.appKeys(appId);
    if (!keys) throw new ApiError("NOT_FOUND", `app ${appId} is not registered in this region`);
    return c.json({ keys });
  });
}
