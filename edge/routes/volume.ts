/**
 * `GET /v1/stats/volume?from=&to=&device=&buckets=` (read key): lines per level per time bucket,
 * which a region sums from the clear metadata of each batch without decrypting any. The window
 * is resolved here (default: the last 24 h) and forwarded as epoch milliseconds, so whichever
 * region answers counts the same one; the answer is passed through.
 */
import { Hono } from "hono";
import { volumeQuerySchema } from "../../shared/console-api.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { forwardRead } from "../routing/region-answer.ts";

export const volume = new Hono<EdgeEnv>().get("/", requireKey("read"), (c) =>
  forwardRead(c, volumeQuerySchema, internalPaths.volume),
);
