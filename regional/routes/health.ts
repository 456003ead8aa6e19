/**
 * Unsigned probes. `/v1/health` reports the region, its database, whether it is draining, and
 * each peer's replication state: outbox backlog (entries, age of the oldest) and last successful
 * contact. Status is 503 when draining or the database does not answer; `degraded` (still 200,
 * the region serves reads and keeps what it is sent) when too few peers answer for the ack quorum,
 * so uploads here would get 503 QUORUM_UNAVAILABLE. `/healthz` is liveness (the process answers);
 * `/readyz` is readiness (200 only when up and the database answers), for load balancers and
 * orchestrators, and what peers probe.
 */
import { Hono } from "hono";
import { ApiError } from "../../shared/errors.ts";
import type { RegionHealth } from "../../shared/health.ts";
import type { RegionDeps, RegionEnv } from "../context.ts";

/** The answer's shape is shared with the edge that probes it (shared/health.ts). */
export type Health = RegionHealth;

export function healthRoute({
  region,
  database,
  lifecycle,
  replicator,
}: Pick<RegionDeps, "region" | "database" | "lifecycle" | "replicator">) {
  return new Hono<RegionEnv>()
    .get("/v1/health", async (c) => {
      const databaseOk = await database.ping();
      const health: Health = {
        region,
        status: lifecycle.draining ? "draining" : replicator.degraded() ? "degraded" : "up",
        database: { kind: database.kind, ok: databaseOk },
        inFlight: lifecycle.inFlight,
        ackQuorum: replicator.ackQuorum,
        peers: databaseOk ? await replicator.peerHealth() : [],
      };
      return c.json(health, health.status !== "draining" && health.database.ok ? 200 : 503);
    })
    .get("/healthz", (c) => c.json({ status: "alive" }))
    .get("/readyz", async (c) => {
      if (lifecycle.draining) throw new ApiError("REGION_UNAVAILABLE", "draining: the region is shutting down");
      if (!(await database.ping())) throw new ApiError("REGION_UNAVAILABLE", "database does not answer");
      return c.json({ status: "ready" });
    });
}
