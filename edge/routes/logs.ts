/**
 * `GET /v1/logs` (read key): a page of an app's logs. The query is validated here (a bad
 * parameter is a 400 naming it, and never reaches a region), then forwarded in its normalized
 * form (times as epoch milliseconds) to the healthiest region that answers, with the read key,
 * which the region checks again by itself; its page `{logs, nextCursor, prevCursor,
 * integrityErrors}` is passed through. The parameters (order, level sets, tag, `around` a line
 * id) are in shared/read.ts.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { logQuerySchema, queryToInput, queryToParams } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { answerFromRegion, routeContext } from "./region-answer.ts";

export const logs = new Hono<EdgeEnv>().get("/", requireKey("read"), async (c) => {
  const parsed = logQuerySchema.safeParse(queryToInput(c.req.query()));
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssues(parsed.error, "query"));
  const answer = await c.var.services.router.forward(
    {
      method: "GET",
      pathAndQuery: `${internalPaths.logs(c.var.appId)}?${queryToParams(parsed.data)}`,
      requestId: c.var.requestId,
      appKey: c.var.appKey,
    },
    routeContext(c),
  );
  return answerFromRegion(c, answer);
});
