/**
 * `GET /internal/v1/apps/:appId/volume?from&to&device&buckets`: lines per level per time bucket,
 * from clear batch metadata (store/volume.ts). The edge forwards the window it resolved, so
 * `from` and `to` normally arrive set. For the holder of a live read key of the app.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { type VolumeAnswer, volumeQuerySchema } from "../../shared/console-api.ts";
import { ApiError } from "../../shared/errors.ts";
import { queryToInput } from "../../shared/read.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireReadKey } from "../read-key.ts";
import { parseAppId } from "../request.ts";

export function volumeRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/volume", guard, requireReadKey({ store }), async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const query = volumeQuerySchema.safeParse(queryToInput(c.req.query()));
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    return c.json((await store.volume(appId, query.data)) satisfies VolumeAnswer);
  });
}
