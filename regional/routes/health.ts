/**
 * Unsigned probes. `/v1/health` reports the region, its database and whether it is draining
 * (503 unless all is well); `/healthz` is liveness (the process answers); `/readyz` is readiness
 * (200 only when up and the database answers), for load balancers and orchestrators.
 */
import { Hono } from "hono";
import { ApiError } from "../../shared/errors.ts";
import type { RegionDeps, RegionEnv } from "../context.ts";

export type Health = {
  region: string;
  status: "up" | "draining";
  database: { kind: "pglite" | "postgres"; ok: boolean };
  inFlight: number;
};

export function healthRoute({ region, database, lifecycle }: Pick<RegionDeps, "region" | "database" | "lifecycle">) {
  return new Hono<RegionEnv>()
    .get("/v1/health", async (c) => {
      const health: Health = {
        region,
        status: lifecycle.draining ? "draining" : "up",
        database: { kind: database.kind, ok: await database.ping() },
        inFlight: lifecycle.inFlight,
      };
      return c.json(health, health.status === "up" && health.database.ok ? 200 : 503);
    })
    .get("/healthz", (c) => c.json({ status: "alive" }))
    .get("/readyz", async (c) => {
      if (lifecycle.draining) throw new ApiError("REGION_UNAVAILABLE", "draining: the region is shutting down");
      if (!(await database.ping())) throw new ApiError("REGION_UNAVAILABLE", "database does not answer");
      return c.json({ status: "ready" });
    });
}
