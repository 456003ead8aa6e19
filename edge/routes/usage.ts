/**
 * `GET /v1/usage?from=&to=` (read key): lines and stored bytes the app keeps per UTC day of
 * receipt, and when each day expires (regional/store/usage.ts), from the healthiest region that
 * answers. Regions hold the same batches, so any one answers for all.
 */
import { Hono } from "hono";
import { usageQuerySchema } from "../../shared/lifecycle.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { forwardRead } from "../routing/region-answer.ts";

export const usage = new Hono<EdgeEnv>().get("/", requireKey("read"), (c) =>
  forwardRead(c, usageQuerySchema, internalPaths.usage),
);
