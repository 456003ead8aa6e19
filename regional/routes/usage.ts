/**
 * `GET /internal/v1/apps/:appId/usage?from&to`: what the app keeps per UTC day of receipt
 * (store/usage.ts), for the holder of a read key of the app. `from` and `to` are days, inclusive.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { type UsageAnswer, usageQuerySchema } from "../../shared/lifecycle.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireReadKey } from "../read-key.ts";
import { parseAppId } from "../request.ts";

export function usageRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/usage", guard, requireReadKey({ store }), async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const query = usageQuerySchema.safeParse(c.req.query());
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    return c.json((await store.usage(appId, query.data)) satisfies UsageAnswer);
  });
}
