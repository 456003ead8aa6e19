/**
 * `GET /v1/stats/volume?from=&to=&device=&buckets=` (read key): lines per level per time bucket,
 * which a region sums from the clear metadata of each batch without decrypting any. The window
 * is resolved here (default: the last 24 h) and forwarded as epoch milliseconds, so whichever
 * region answers counts the same one; the answer is passed through.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { volumeQuerySchema } from "../../shared/console-api.ts";
import { ApiError } from "../../shared/errors.ts";
import { queryToInput, queryToParams } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { answerFromRegion, routeContext } from "./region-answer.ts";

export const volume = new Hono<EdgeEnv>().get("/", requireKey("read"), async (c) => {
  const parsed = volumeQuerySchema.safeParse(queryToInput(c.req.query()));
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssues(parsed.error, "query"));
  const answer = await c.var.services.router.forward(
    {
      method: "GET",
      pathAndQuery: `${internalPaths.volume(c.var.appId)}?${queryToParams(parsed.data)}`,
      requestId: c.var.requestId,
      appKey: c.var.appKey,
    },
    routeContext(c),
  );
  return answerFromRegion(c, answer);
});
