/**
 * Which region a request tries first, second, …: a pure function of the configured regions, the
 * shared health table, this isolate's breakers and where the client is, so the same state always
 * gives the same order, and `GET /v1/health` can show the order and why.
 *
 * 1. Tier: `up`, then not yet probed, then `degraded`, `down`, `draining`. A region
 *    whose breaker is open is left out altogether until its cool-down ends; `down` and `draining`
 *    ones are kept as last resorts, because the table can be a probe interval out of date.
 * 2. Score, lower is better, in milliseconds of expected delay: the probe latency (in 10 ms steps:
 *    smaller differences are noise), plus 0.5 ms per request in flight at the region, plus 1 ms
 *    per 100 replication entries it still owes its peers, plus the round trip to the client
 *    (≈ 1 ms per 100 km of great-circle distance, light in fibre), divided by the region's weight.
 * 3. The configured order breaks what is still tied.
 */
import type { Location, RoutedRegion } from "../../shared/regions.ts";
import type { HealthSnapshot, RegionStatus } from "../health/status.ts";
import type { BreakerState } from "./breaker.ts";

export type PlannedRegion = {
  region: RoutedRegion;
  status: RegionStatus;
  breaker: BreakerState;
  /** Position in the attempt order, from 1; null when the region is skipped (breaker open). */
  order: number | null;
  score: number;
  distanceKm: number | null;
};

const tierOf: Record<RegionStatus, number> = { up: 0, unknown: 1, degraded: 2, down: 3, draining: 4 };

export function planRoute(
  regions: readonly RoutedRegion[],
  health: HealthSnapshot,
  breakerState: (region: string) => BreakerState,
  client: Location | null,
): PlannedRegion[] {
  const planned = regions.map((region, index) => {
    const state = health.regions.find((candidate) => candidate.name === region.name);
    const status = state?.status ?? "unknown";
    const distanceKm = client ? Math.round(greatCircleKm(client, region.location)) : null;
    const latencyMs = state?.latencyMs == null ? 0 : Math.round(state.latencyMs / 10) * 10;
    const expectedMs = latencyMs + 0.5 * (state?.inFlight ?? 0) + (state?.backlog ?? 0) / 100 + (distanceKm ?? 0) / 100;
    const score = Math.round((expectedMs / (region.weight ?? 1)) * 10) / 10;
    return { region, status, breaker: breakerState(region.name), order: null, score, distanceKm, index };
  });
  const usable = planned
    .filter((entry) => entry.breaker !== "open")
    .sort((a, b) => tierOf[a.status] - tierOf[b.status] || a.score - b.score || a.index - b.index);
  usable.forEach((entry, position) => {
    (entry as PlannedRegion).order = position + 1;
  });
  return planned.map(({ index: _index, ...entry }) => entry);
}

/** The regions to try, in order. */
export function attemptOrder(plan: readonly PlannedRegion[]): RoutedRegion[] {
  return plan
    .filter((entry) => entry.order !== null)
    .sort((a, b) => (a.order as number) - (b.order as number))
    .map((entry) => entry.region);
}

/** The client's location from `request.cf` (strings on Cloudflare), or null when it is unknown. */
export function clientLocation(cf: unknown): Location | null {
  if (typeof cf !== "object" || cf === null) return null;
  const { latitude, longitude } = cf as { latitude?: unknown; longitude?: unknown };
  const lat = Number(latitude);
  const lon = Number(longitude);
  if (latitude === undefined || longitude === undefined || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return { lat, lon };
}

/** Haversine distance on a sphere of the Earth's mean radius. */
export function greatCircleKm(a: Location, b: Location): number {
  const radians = Math.PI / 180;
  const dLat = (b.lat - a.lat) * radians;
  const dLon = (b.lon - a.lon) * radians;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * radians) * Math.cos(b.lat * radians) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}
