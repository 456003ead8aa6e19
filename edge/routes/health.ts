/**
 * `GET /v1/health` (no key): the edge's view of its regions, as routing uses it. For each region:
 * the shared health table's entry (status, latency, load, backlog, last success and error), this
 * isolate's breaker, the score and the position in the order a request from this client would try
 * them (null when skipped); `order` lists the names in that order.
 */
import { Hono } from "hono";
import type { EdgeEnv } from "../context.ts";
import { clientLocation } from "../routing/choice.ts";

export const health = new Hono<EdgeEnv>().get("/", async (c) => {
  const client = clientLocation(c.req.raw.cf);
  // Read the table fresh (an operator wants now, not two seconds ago), then plan on that.
  const snapshot = await c.var.services.router.health.snapshot({ fresh: true });
  const plan = await c.var.services.router.plan(client);
  const regions = plan.map(({ region, status, breaker, order, score, distanceKm }) => {
    const state = snapshot.regions.find((entry) => entry.name === region.name);
    return {
      name: region.name,
      url: region.url,
      location: region.location,
      weight: region.weight ?? 1,
      status,
      breaker,
      order,
      score,
      distanceKm,
      latencyMs: state?.latencyMs ?? null,
      inFlight: state?.inFlight ?? null,
      backlog: state?.backlog ?? null,
      lastSuccessAt: iso(state?.lastSuccessAt),
      lastErrorAt: iso(state?.lastErrorAt),
      lastError: state?.lastError ?? null,
    };
  });
  const order = [...regions]
    .filter((region) => region.order !== null)
    .sort((a, b) => (a.order as number) - (b.order as number))
    .map((region) => region.name);
  return c.json({
    status: order.length > 0 ? "ok" : "no-region",
    probedAt: iso(snapshot.probedAt),
    probeIntervalMs: c.var.config.probeIntervalMs,
    client,
    order,
    regions,
  });
});

function iso(ms: number | null | undefined): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}
