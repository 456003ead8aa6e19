/**
 * `GET /internal/v1/apps/:appId/devices?q&cursor&limit`: the app's devices, most recently active
 * first, each with its lines per level; `q` searches id, name, model, OS and app version. For the
 * holder of a live read key of the app (read-key.ts).
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { type DevicePage, deviceQuerySchema } from "../../shared/read.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireReadKey } from "../read-key.ts";
import { parseAppId, readFailureError } from "../request.ts";

export function devicesRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/devices", guard, requireReadKey({ store }), async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const query = deviceQuerySchema.safeParse(c.req.query());
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    const page = await store.devices(appId, query.data);
    if (!page.ok) throw readFailureError(page.error);
    return c.json(page.value satisfies DevicePage);
  });
}
