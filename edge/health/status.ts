/**
 * What the edge knows about each region's health, and how one observation changes it. Pure
 * functions over plain data: the health Durable Object (object.ts) applies them to its probes and
 * to the failures requests report; isolates read the result as a `HealthSnapshot` (view.ts).
 *
 * A region's `/v1/health` answers `{region, status: "up"|"degraded"|"draining", database: {ok},
 * inFlight, peers?: [{backlog: {entries}}]}`, 200 when up (or degraded) and 503 when draining or its
 * database is down. Anything else (no answer, a timeout, another 5xx, a body that is not that
 * shape) marks it `down`. The body is read with shared `regionHealthSchema`, field by field: an
 * older region reports no backlog.
 */
import { type RegionHealthSeen, regionHealthSchema } from "../../shared/health.ts";

export type RegionStatus = "unknown" | "up" | "degraded" | "draining" | "down";

export type RegionHealthState = {
  name: string;
  status: RegionStatus;
  /** Exponentially weighted moving average of probe round trips, in ms; null before any answer. */
  latencyMs: number | null;
  /** Requests the region was serving at the last probe. */
  inFlight: number | null;
  /** Replication entries the region still has to send to its peers, summed over peers. */
  backlog: number | null;
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
};

export type HealthSnapshot = { regions: RegionHealthState[]; probedAt: number | null };

/** Weight of the newest round trip in the latency average. */
const latencyWeight = 0.3;

export function initialState(name: string): RegionHealthState {
  return {
    name,
    status: "unknown",
    latencyMs: null,
    inFlight: null,
    backlog: null,
    lastSuccessAt: null,
    lastErrorAt: null,
    lastError: null,
  };
}

/** What one probe saw: an HTTP answer (status and parsed JSON, or null) or a failure to get one. */
export type ProbeResult =
  | { kind: "answer"; httpStatus: number; body: unknown; latencyMs: number; atMs: number }
  | { kind: "failure"; reason: string; atMs: number };

export function applyProbe(state: RegionHealthState, probe: ProbeResult): RegionHealthState {
  if (probe.kind === "failure") return markFailed(state, probe.reason, probe.atMs);
  const body = regionHealthSchema.parse(probe.body);
  const reported = body.status;
  const latencyMs =
    state.latencyMs === null ? probe.latencyMs : state.latencyMs + latencyWeight * (probe.latencyMs - state.latencyMs);
  const measured = {
    ...state,
    latencyMs: Math.round(latencyMs * 10) / 10,
    inFlight: body.inFlight ?? state.inFlight,
    backlog: backlogOf(body) ?? state.backlog,
  };
  if (reported === "draining") {
    return { ...measured, status: "draining", lastErrorAt: probe.atMs, lastError: "draining" };
  }
  if (probe.httpStatus === 200 && (reported === "up" || reported === "degraded")) {
    return { ...measured, status: reported, lastSuccessAt: probe.atMs };
  }
  const databaseDown = body.database?.ok === false;
  return markFailed(measured, databaseDown ? "database down" : `health answered ${probe.httpStatus}`, probe.atMs);
}

/** A failed probe, or a request that could not reach the region: `down` until a probe succeeds. */
export function markFailed(state: RegionHealthState, reason: string, atMs: number): RegionHealthState {
  return { ...state, status: "down", lastErrorAt: atMs, lastError: reason };
}

/** Sum of `peers[].backlog.entries`, when the region reports peers at all. */
function backlogOf(body: RegionHealthSeen): number | null {
  if (body.peers === undefined) return null;
  let total = 0;
  for (const peer of body.peers) {
    const entries = peer.backlog?.entries;
    if (entries !== undefined && entries > 0) total += entries;
  }
  return total;
}
