/**
 * `GET /internal/v1/apps/:appId/tail?after&device&level&levels&tag&q&limit`: the live tail, lines
 * in this region's arrival order past `after` (store/tail.ts). The cursor it answers names this
 * region. For the holder of a live read key of the app.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { type TailPage, tailQuerySchema } from "../../shared/console-api.ts";
import { ApiError } from "../../shared/errors.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireReadKey } from "../read-key.ts";
import { parseAppId, readFailureError } from "../request.ts";

export function tailRoute({ store, region, guard }: Pick<RegionDeps, "store" | "region"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/tail", guard, requireReadKey({ store }), async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const query = tailQuerySchema.safeParse(c.req.query());
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    const page = await store.tail(appId, query.data, region);
    if (!page.ok) throw readFailureError(page.error);
    return c.json(page.value satisfies TailPage);
  });
}
