/**
 * Calls to peer regions (shared/signed-json.ts, sent on regional/transport.ts), signed as `peer`
 * with the peer secret and for the peer called (its name is the audience), each answer parsed with
 * its schema from shared/replication.ts, with what health reports about each peer: when it last
 * answered, and whether its last call or probe got through. Failures are values with a `retryable`
 * flag; the outbox and anti-entropy decide by type.
 */
import type { z } from "zod";
import type { Clock } from "../../shared/clock.ts";
import type { Region } from "../../shared/regions.ts";
import { ok, type Result } from "../../shared/result.ts";
import { type JsonCallFailure, signedJson } from "../../shared/signed-json.ts";
import { regionTransport } from "../transport.ts";

export type PeerFailure = JsonCallFailure;
export type PeerState = { name: string; reachable: boolean; lastContactAt: number | null };
/**
 * A peer that answers again, or stops answering: `awayMs` is how long it had not answered
 * (null: never before), `reason` why it counts as unreachable now.
 */
export type PeerChange =
  | { name: string; reachable: true; awayMs: number | null }
  | { name: string; reachable: false; reason: string };

export type PeerClient = {
  peers: Region[];
  call<S extends z.ZodType>(
    peer: Region,
    method: "GET" | "POST",
    path: string,
    schema: S,
    body?: unknown,
    requestId?: string,
  ): Promise<Result<z.output<S>, PeerFailure>>;
  /** An unsigned readiness probe, which only updates the peer's state. */
  probe(peer: Region): Promise<void>;
  states(): PeerState[];
  /**
   * The peers that answered again since this was last asked, after failing every call and probe
   * for at least `awayMs`, or after a readiness probe failed while they were away (or never
   * having answered this process).
   */
  takeReturned(awayMs: number): string[];
};

export function createPeerClient(options: {
  peers: Region[];
  peerSecret: string;
  timeoutMs: number;
  clock: Clock;
  /** Called when a peer's reachability changes; a peer that never answered counts as a change once. */
  onChange?: (change: PeerChange) => void;
}): PeerClient {
  const { peers, peerSecret, timeoutMs, clock, onChange = () => undefined } = options;
  const state = new Map<string, PeerState>(
    peers.map((peer) => [peer.name, { name: peer.name, reachable: false, lastContactAt: null }]),
  );
  // Per peer that answered again: how long it had not (infinite: never before, or its readiness
  // probe failed meanwhile).
  const returned = new Map<string, number>();
  const awaySince = new Map<string, number>();
  // Peers whose readiness probe failed since they last answered. A peer shedding calls under load
  // still answers /readyz; one that does not was down, draining or restarting: however short its
  // absence, the copies sent to it meanwhile failed, and it is owed them now.
  const notReady = new Set<string>();
  const startedAt = clock.now();
  // Peers reported unreachable without having answered this process first.
  const reportedAway = new Set<string>();
  const mark = (peer: Region, reachable: boolean, reason: string) => {
    const current = state.get(peer.name);
    if (!current) return;
    if (reachable && !current.reachable) {
      const since = awaySince.get(peer.name);
      returned.set(
        peer.name,
        since === undefined || notReady.has(peer.name) ? Number.POSITIVE_INFINITY : clock.now() - since,
      );
      const answeredBefore = current.lastContactAt !== null && since !== undefined;
      onChange({ name: peer.name, reachable, awayMs: answeredBefore ? clock.now() - since : null });
    }
    if (!reachable && current.reachable) onChange({ name: peer.name, reachable, reason });
    // Peers start together, so one that has not answered yet is not news until a call's timeout
    // has passed twice since this process started.
    if (
      !reachable &&
      current.lastContactAt === null &&
      !reportedAway.has(peer.name) &&
      clock.now() - startedAt >= 2 * timeoutMs
    ) {
      reportedAway.add(peer.name);
      onChange({ name: peer.name, reachable, reason });
    }
    if (reachable) {
      awaySince.delete(peer.name);
      notReady.delete(peer.name);
    } else if (!awaySince.has(peer.name)) awaySince.set(peer.name, clock.now());
    current.reachable = reachable;
    if (reachable) current.lastContactAt = clock.now();
  };

  return {
    peers,
    async call(peer, method, path, schema, body, requestId) {
      const answer = await signedJson(
        {
          signer: { role: "peer", secret: peerSecret, audience: peer.name },
          baseUrl: peer.url,
          method,
          pathAndQuery: path,
          body: body === undefined ? undefined : JSON.stringify(body),
          requestId,
          timeoutMs,
        },
        schema,
        regionTransport,
      );
      // Draining or out of service (5xx), or not sharing our peer secret (401): not reachable
      // for replication, and tried again later.
      if (answer.ok) {
        mark(peer, true, "");
        return ok(answer.value.body);
      }
      if (answer.error.kind === "refused")
        mark(peer, answer.error.status < 500 && answer.error.status !== 401, answer.error.message);
      else mark(peer, answer.error.kind === "malformed", answer.error.message);
      return answer;
    },
    async probe(peer) {
      const answered = await regionTransport({
        url: new URL("/readyz", peer.url),
        method: "GET",
        headers: {},
        body: undefined,
        timeoutMs,
      });
      const ready = answered.ok && answered.value.status >= 200 && answered.value.status < 300;
      if (!ready) notReady.add(peer.name);
      mark(peer, ready, answered.ok ? `readyz answered ${answered.value.status}` : answered.error.message);
    },
    states: () => peers.map((peer) => ({ ...(state.get(peer.name) as PeerState) })),
    takeReturned(awayMs) {
      const names = [...returned].filter(([, away]) => away >= awayMs).map(([name]) => name);
      returned.clear();
      return names;
    },
  };
}
