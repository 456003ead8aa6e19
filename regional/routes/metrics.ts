/**
 * `GET /metrics` on the admin listener: Prometheus text exposition of the region's registry
 * (metrics.ts). Unsigned, as scrapers expect; the admin listener is loopback unless the operator
 * binds it where the scraper runs, and no series names an app or a device. The replication
 * gauges are read at scrape time, from the same outbox state `/v1/health` reports.
 */
import { Hono } from "hono";
import type { RegionDeps, RegionEnv } from "../context.ts";

export function metricsRoute({ metrics, replicator }: Pick<RegionDeps, "metrics" | "replicator">) {
  return new Hono<RegionEnv>().get("/metrics", async (c) => {
    for (const peer of await replicator.peerHealth()) {
      metrics.replicationBacklog.set({ peer: peer.name }, peer.backlog.entries);
      metrics.replicationLagSeconds.set({ peer: peer.name }, (peer.backlog.oldestAgeMs ?? 0) / 1000);
      metrics.peerReachable.set({ peer: peer.name }, peer.reachable ? 1 : 0);
    }
    return c.body(await metrics.registry.metrics(), 200, { "Content-Type": metrics.registry.contentType });
  });
}
