/** `GET /internal/v1/apps`: every app registered in this region. */
import { Hono } from "hono";
import type { RegionDeps, RegionEnv } from "../context.ts";

export function appsListRoute({ store }: Pick<RegionDeps, "store">) {
  return new Hono<RegionEnv>().get("/apps", async (c) => c.json({ apps: await store.listApps() }));
}
