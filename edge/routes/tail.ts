/**
 * `GET /v1/tail?after=&device=&level=&levels=&tag=&q=&limit=` (read key): the live tail. Lines in
 * the order their batches reached the region that answers (not line-time order: a batch may
 * arrive with old timestamps), past `after`, the previous poll's `nextCursor`; without `after`
 * the tail starts now. A cursor names the region that issued it; if another region answers the
 * next poll (a failover), it starts from the last minute of arrivals, so a switch may repeat
 * lines (same `batchId:index`) but does not lose them. See regional/store/tail.ts.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { tailQuerySchema } from "../../shared/console-api.ts";
import { ApiError } from "../../shared/errors.ts";
import { queryToParams } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { answerFromRegion, routeContext } from "./region-answer.ts";

export const tail = new Hono<EdgeEnv>().get("/", requireKey("read"), async (c) => {
  const parsed = tailQuerySchema.safeParse(c.req.query());
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssues(parsed.error, "query"));
  const answer = await c.var.services.router.forward(
    {
      method: "GET",
      pathAndQuery: `${internalPaths.tail(c.var.appId)}?${queryToParams(parsed.data)}`,
      requestId: c.var.requestId,
      appKey: c.var.appKey,
    },
    routeContext(c),
  );
  return answerFromRegion(c, answer);
});
