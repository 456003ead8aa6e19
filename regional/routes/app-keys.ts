/**
 * `GET /admin/v1/apps/:appId/keys`: the app's key hashes, with creation and revocation times.
 * `POST /admin/v1/apps/:appId/keys`: adds a key (its hash) to an app this region knows; adding a
 * known key again changes nothing, so the admin CLI may repeat the call.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { controlBodyBytesMax, parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";
import { newKeySchema } from "../store/types.ts";

export function appKeysRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>()
    .get("/apps/:appId/keys", guard, async (c) => {
      const appId = parseAppId(c.req.param("appId"));
      const keys = await store.appKeys(appId);
      if (!keys) throw new ApiError("NOT_FOUND", `app ${appId} is not registered in this region`);
      return c.json({ keys });
    })
    .post("/apps/:appId/keys", guard, async (c) => {
      const appId = parseAppId(c.req.param("appId"));
      const raw = await readSignedBody(c.req.raw, controlBodyBytesMax);
      const key = parseWith(newKeySchema, parseJsonBody(c.req.header("content-type"), raw));
      const added = await store.addKey(appId, key);
      if (!added) throw new ApiError("NOT_FOUND", `app ${appId} is not registered in this region`);
      return c.json({ key: added });
    });
}
