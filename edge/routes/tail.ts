/**
 * `GET /v1/tail?after=&device=&level=&levels=&tag=&q=&limit=` (read key): the live tail. Lines in
 * the order their batches reached the region that answers (not line-time order: a batch may
 * arrive with old timestamps), past `after`, the previous poll's `nextCursor`; without `after`
 * the tail starts now. A cursor names the region that issued it; if another region answers the
 * next poll (a failover), it starts from the last minute of arrivals, so a switch may repeat
 * lines (same `batchId:index`) but does not lose them. See regional/store/tail.ts.
 */
import { Hono } from "hono";
import { tailQuerySchema } from "../../shared/console-api.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { forwardRead } from "../routing/region-answer.ts";

export const tail = new Hono<EdgeEnv>().get("/", requireKey("read"), (c) =>
  forwardRead(c, tailQuerySchema, internalPaths.tail),
);
