/** `GET /v1/health` (no key): the edge is up, and which regions it forwards to, in order. */
import { Hono } from "hono";
import type { EdgeEnv } from "../context.ts";

export const health = new Hono<EdgeEnv>().get("/", (c) =>
  c.json({ status: "ok", regions: c.var.config.regions.map(({ name, url }) => ({ name, url })) }),
);
