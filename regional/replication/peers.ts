/**
 * Calls to peer regions (shared/signed-fetch.ts), signed as `peer` with the peer secret and for
 * the peer called (its name is the audience), with what health reports about each
 * peer: when it last answered, and whether its last call or probe got through. Failures are
 * values with a `retryable` flag; the outbox and anti-entropy decide by type.
 */
import type { Clock } from "../../shared/clock.ts";
import type { Region } from "../../shared/regions.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import { signedFetch } from "../../shared/signed-fetch.ts";

export type PeerFailure = { kind: "unreachable" | "timeout" | "refused"; retryable: boolean; message: string };
export type PeerState = { name: string; reachable: boolean; lastContactAt: number | null };

export type PeerClient = {
  peers: Region[];
  call<T>(
    peer: Region,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    requestId?: string,
  ): Promise<Result<T, PeerFailure>>;
  /** An unsigned readiness probe, which only updates the peer's state. */
  probe(peer: Region): Promise<void>;
  states(): PeerState[];
};

export function createPeerClient(options: {
  peers: Region[];
  peerSecret: string;
  timeoutMs: number;
  clock: Clock;
}): PeerClient {
  const { peers, peerSecret, timeoutMs, clock } = options;
  const state = new Map<string, PeerState>(
    peers.map((peer) => [peer.name, { name: peer.name, reachable: false, lastContactAt: null }]),
  );
  const mark = (peer: Region, reachable: boolean) => {
    const current = state.get(peer.name);
    if (!current) return;
    current.reachable = reachable;
    if (reachable) current.lastContactAt = clock.now();
  };

  return {
    peers,
    async call<T>(peer: Region, method: "GET" | "POST", path: string, body?: unknown, requestId?: string) {
      const sent = await signedFetch({
        signer: { role: "peer", secret: peerSecret, audience: peer.name },
        baseUrl: peer.url,
        method,
        pathAndQuery: path,
        body: body === undefined ? undefined : JSON.stringify(body),
        requestId,
        timeoutMs,
      });
      if (!sent.ok) {
        mark(peer, false);
        return err({ kind: sent.error.kind, retryable: true, message: sent.error.message });
      }
      const response = sent.value;
      const text = await response.text().catch(() => null);
      if (text === null) {
        mark(peer, false);
        return err({ kind: "unreachable" as const, retryable: true, message: "connection lost mid-response" });
      }
      // Draining or out of service (5xx), or not sharing our peer secret (401): try again later.
      mark(peer, response.status < 500 && response.status !== 401);
      if (!response.ok) {
        return err({
          kind: "refused" as const,
          retryable: response.status >= 500 || response.status === 401 || response.status === 429,
          message: `${peer.name} answered ${response.status}: ${text.slice(0, 200)}`,
        });
      }
      return ok(JSON.parse(text) as T);
    },
    async probe(peer) {
      try {
        const response = await fetch(new URL("/readyz", peer.url), { signal: AbortSignal.timeout(timeoutMs) });
        await response.body?.cancel();
        mark(peer, response.ok);
      } catch {
        mark(peer, false);
      }
    },
    states: () => peers.map((peer) => ({ ...(state.get(peer.name) as PeerState) })),
  };
}
