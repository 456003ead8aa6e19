/**
 * `GET /internal/v1/apps/:appId/logs?device&from&to&level&levels&tag&q&limit&order&cursor&around`:
 * one page of log lines in time order (shared/read.ts has the parameters). Batches that fail to
 * open are listed in `integrityErrors` and the page goes on without them. Only for the holder of a
 * live read key of the app, which the edge passes along (read-key.ts).
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { type LogPage, logQuerySchema, queryToInput } from "../../shared/read.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireReadKey } from "../read-key.ts";
import { parseAppId, readFailureError } from "../request.ts";

export function logsRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/logs", guard, requireReadKey({ store }), async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const query = logQuerySchema.safeParse(queryToInput(c.req.query()));
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    const page = await store.readLogs(appId, query.data);
    if (!page.ok) throw readFailureError(page.error);
    return c.json(page.value satisfies LogPage);
  });
}
