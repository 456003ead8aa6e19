/**
 * `GET /v1/devices` (read key): the devices an app has heard from, as the healthiest region that
 * answers knows them (`{devices}`), passed through. The read key goes along: the region checks it
 * again by itself.
 */
import { Hono } from "hono";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { answerFromRegion, routeContext } from "../routing/region-answer.ts";

export const devices = new Hono<EdgeEnv>().get("/", requireKey("read"), async (c) => {
  const answer = await c.var.services.router.forward(
    {
      method: "GET",
      pathAndQuery: internalPaths.devices(c.var.appId),
      requestId: c.var.requestId,
      appKey: c.var.appKey,
    },
    routeContext(c),
  );
  return answerFromRegion(c, answer);
});
