/** `GET /admin/v1/apps`: every app registered in this region. */
import { Hono } from "hono";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";

export function appsListRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps", guard, async (c) => c.json({ apps: await store.listApps() }));
}
