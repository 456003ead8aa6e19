/**
 * Replication for one region, built once by createRegion: the quorum wait of the upload path,
 * the outbox worker, anti-entropy and peer probes, plus what health reports about peers. The
 * background loops run only after `start()` (server.ts); tests drive the `run…Once` steps
 * themselves so every step is deterministic.
 */
import type { Logger } from "pino";
import type { BatchKey } from "../../shared/batch.ts";
import type { Clock } from "../../shared/clock.ts";
import type { PeerHealth } from "../../shared/health.ts";
import type { ReplicationConfig } from "../config.ts";
import type { RegionMetrics } from "../metrics.ts";
import type { ReplicaStore } from "../store/types.ts";
import { antiEntropy, type RepairReport } from "./anti-entropy.ts";
import { createPeerClient, type PeerClient } from "./peers.ts";
import { awaitQuorum, type QuorumOutcome } from "./quorum.ts";
import { createShipper } from "./ship.ts";

export type { PeerHealth };

export type Replicator = {
  peerNames: string[];
  ackQuorum: number;
  /** How long the upload path holds a new outbox entry before the worker may take it. */
  leaseMs: number;
  /** Sends a batch held here to every peer; resolves once the quorum holds it, or cannot in time. */
  awaitQuorum(key: BatchKey, requestId?: string): Promise<QuorumOutcome>;
  runOutboxOnce(): Promise<number>;
  runAntiEntropyOnce(): Promise<RepairReport[]>;
  probePeers(): Promise<void>;
  peerHealth(): Promise<PeerHealth[]>;
  /** True when too few peers answer for the quorum to be reached. */
  degraded(): boolean;
  start(): void;
  stop(): Promise<void>;
};

const outboxClaimMax = 64;
/** Rounds of one outbox pass per peer, so a long backlog does not starve the other peers. */
const outboxRoundsMax = 20;

export function createReplicator(options: {
  region: string;
  peerSecret: string;
  config: ReplicationConfig;
  replicas: ReplicaStore;
  logger: Logger;
  clock: Clock;
  metrics: RegionMetrics;
}): Replicator {
  const { region, config, replicas, logger, clock, metrics } = options;
  const peers: PeerClient = createPeerClient({
    peers: config.peers,
    peerSecret: options.peerSecret,
    timeoutMs: config.peerTimeoutMs,
    clock,
  });
  const backoff = { baseMs: config.outboxBackoffBaseMs, maxMs: config.outboxBackoffMaxMs };
  const shipper = createShipper({ region, replicas, peers, backoff });
  // A claimed entry stays with its sender for two call timeouts; then anyone may take it again.
  const leaseMs = 2 * config.peerTimeoutMs;
  const onError = (error: unknown) => logger.error({ err: error }, "replication step failed");

  const replicator: Replicator = {
    peerNames: config.peers.map((peer) => peer.name),
    ackQuorum: config.ackQuorum,
    leaseMs,
    awaitQuorum: (key, requestId) =>
      awaitQuorum({
        region,
        key,
        peers,
        shipper,
        ackQuorum: config.ackQuorum,
        quorumTimeoutMs: config.quorumTimeoutMs,
        requestId,
        onError,
      }),

    async runOutboxOnce() {
      const results = await Promise.all(
        config.peers.map(async (peer) => {
          let sent = 0;
          for (let round = 0; round < outboxRoundsMax; round += 1) {
            const claimed = await replicas.claim(peer.name, outboxClaimMax, leaseMs);
            if (claimed.length === 0) break;
            const confirmed = await shipper.ship(peer, claimed);
            sent += confirmed.length;
            if (confirmed.length < claimed.length) break;
          }
          return sent;
        }),
      );
      return results.reduce((sum, sent) => sum + sent, 0);
    },

    async runAntiEntropyOnce() {
      const reports: RepairReport[] = [];
      for (const peer of config.peers) {
        const stopTimer = metrics.antiEntropySeconds.startTimer({ peer: peer.name });
        const result = await antiEntropy({
          region,
          peer,
          peers,
          replicas,
          clock,
          settleMs: config.antiEntropySettleMs,
        });
        stopTimer();
        if (result.ok) {
          metrics.antiEntropyRepairs.inc({ peer: peer.name, direction: "push" }, result.report.pushed);
          metrics.antiEntropyRepairs.inc({ peer: peer.name, direction: "pull" }, result.report.pulled);
          reports.push(result.report);
          if (result.report.pushed + result.report.pulled > 0) logger.info(result.report, "anti-entropy repaired");
        } else logger.warn({ peer: peer.name, reason: result.error.message }, "anti-entropy skipped a peer");
      }
      return reports;
    },

    async probePeers() {
      await Promise.all(config.peers.map((peer) => peers.probe(peer)));
    },

    async peerHealth() {
      const backlog = await replicas.backlog();
      return peers.states().map((state) => ({
        name: state.name,
        backlog: backlog.get(state.name) ?? { entries: 0, oldestAgeMs: null },
        lastContactAt: state.lastContactAt === null ? null : new Date(state.lastContactAt).toISOString(),
        reachable: state.reachable,
      }));
    },

    degraded() {
      const reachable = peers.states().filter((state) => state.reachable).length;
      return reachable + 1 < config.ackQuorum;
    },

    start() {
      loops.push(
        every(config.peerProbeIntervalMs, () => replicator.probePeers()),
        every(config.outboxIntervalMs, () => replicator.runOutboxOnce()),
        every(config.antiEntropyIntervalMs, () => replicator.runAntiEntropyOnce()),
      );
    },

    async stop() {
      await Promise.all(loops.splice(0).map((loop) => loop.stop()));
    },
  };

  const loops: { stop(): Promise<void> }[] = [];
  function every(intervalMs: number, step: () => Promise<unknown>) {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    const tick = () => {
      running = step()
        .then(() => undefined, onError)
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, intervalMs);
        });
    };
    timer = setTimeout(tick, 0);
    return {
      async stop() {
        stopped = true;
        clearTimeout(timer);
        await running;
      },
    };
  }

  return replicator;
}
