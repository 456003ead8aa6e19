/**
 * `GET /v1/devices?q=&cursor=&limit=` (read key): the devices an app has heard from, most
 * recently seen first, with their lines per level, searched by `q` and paged by `cursor`. The
 * query is validated here (a bad parameter is a 400 naming it) and forwarded to the healthiest
 * region that answers, with the read key, which the region checks again by itself; its page
 * `{devices, nextCursor}` is passed through.
 */
import { Hono } from "hono";
import { deviceQuerySchema } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { forwardRead } from "../routing/region-answer.ts";

export const devices = new Hono<EdgeEnv>().get("/", requireKey("read"), (c) =>
  forwardRead(c, deviceQuerySchema, internalPaths.devices),
);
