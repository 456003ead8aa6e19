/**
 * `GET /v1/devices?q=&cursor=&limit=` (read key): the devices an app has heard from, most
 * recently seen first, with their lines per level, searched by `q` and paged by `cursor`. The
 * query is validated here (a bad parameter is a 400 naming it) and forwarded to the healthiest
 * region that answers, with the read key, which the region checks again by itself; its page
 * `{devices, nextCursor}` is passed through.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { deviceQuerySchema, queryToParams } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { answerFromRegion, routeContext } from "./region-answer.ts";

export const devices = new Hono<EdgeEnv>().get("/", requireKey("read"), async (c) => {
  const parsed = deviceQuerySchema.safeParse(c.req.query());
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssues(parsed.error, "query"));
  const answer = await c.var.services.router.forward(
    {
      method: "GET",
      pathAndQuery: `${internalPaths.devices(c.var.appId)}?${queryToParams(parsed.data)}`,
      requestId: c.var.requestId,
      appKey: c.var.appKey,
    },
    routeContext(c),
  );
  return answerFromRegion(c, answer);
});
