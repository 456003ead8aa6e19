/**
 * Replication for one region, built once by createRegion: the quorum wait of the upload path,
 * the outbox worker, anti-entropy and peer probes, plus what health reports about peers.
 *
 * The upload path sends each new batch as sealed in memory (store/put-batch.ts `replica`) through
 * one queue per peer: while a call to the peer is in flight, batches arriving wait and go together
 * in the next one, so a committed group travels in one call. A copy the quorum does not wait for
 * (quorum.ts) waits up to `deferredCopyMs` for later ones to go with it: spaced-out uploads would
 * otherwise cost that peer a call and a transaction each. What a peer confirms is kept in memory
 * until the outbox worker moves the peer's mark past it (store/marks.ts): no row is written or
 * deleted per batch acknowledged on time, and a deferred copy is owed by the mark like any other.
 * The background loops run only after `start()` (server.ts); tests drive the `run…Once` steps
 * themselves so every step is deterministic.
 */
import type { Logger } from "pino";
import type { BatchKey } from "../../shared/batch.ts";
import type { Clock } from "../../shared/clock.ts";
import type { PeerHealth } from "../../shared/health.ts";
import type { Region } from "../../shared/regions.ts";
import type { SealedBatch } from "../../shared/replication.ts";
import { replicateBatchesMax } from "../../shared/replication.ts";
import type { ReplicationConfig } from "../config.ts";
import type { RegionMetrics } from "../metrics.ts";
import type { PeerBacklog, ReplicaStore } from "../store/types.ts";
import { antiEntropy, type RepairReport } from "./anti-entropy.ts";
import { createPeerClient, type PeerClient } from "./peers.ts";
import { awaitQuorum, type Delivery, type QuorumOutcome } from "./quorum.ts";
import { createShipper } from "./ship.ts";

export type { PeerHealth };

export type Replicator = {
  peerNames: string[];
  ackQuorum: number;
  /** How long the upload path has to get a new batch confirmed before the worker takes it over. */
  leaseMs: number;
  /**
   * Sends a batch held here to every peer (`replica`: as just sealed, else read back); resolves
   * once the quorum holds it, or cannot in time.
   */
  awaitQuorum(key: BatchKey, requestId?: string, replica?: SealedBatch): Promise<QuorumOutcome>;
  runOutboxOnce(): Promise<number>;
  runAntiEntropyOnce(): Promise<RepairReport[]>;
  probePeers(): Promise<void>;
  peerHealth(): Promise<PeerHealth[]>;
  /** What each peer is still owed (store/marks.ts), counting what it confirmed to this process as held. */
  backlog(): Promise<Map<string, PeerBacklog>>;
  /** Resolves once no batch waits in, or is being sent from, a peer queue (a graceful stop waits for it). */
  idle(): Promise<void>;
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
    // The one place an operator reads that a peer went away or came back: calls and passes to an
    // unreachable peer fail quietly.
    onChange: (change) =>
      !change.reachable
        ? logger.warn({ peer: change.name, reason: change.reason }, "peer does not answer")
        : change.awayMs === null
          ? logger.info({ peer: change.name }, "peer answers")
          : logger.info({ peer: change.name, awayMs: change.awayMs }, "peer answers again"),
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
    awaitQuorum: (key, requestId, replica) =>
      awaitQuorum({
        region,
        // The peers answering first: the quorum waits on them, the others' copies may be deferred.
        peers: reachableFirst(),
        send: replica
          ? (peer, deferred) => queueFor(peer).send(replica, requestId, deferred)
          : // A batch held here already (a retry) is checked with every peer at once: none is deferred.
            (peer) => ({
              confirmed: shipper.ship(peer, [key], requestId).then((held) => {
                if (held.length > 0) confirmations(peer.name).set(keyOf(key), clock.now());
                return held.length > 0;
              }),
              hurry: () => undefined,
            }),
        ackQuorum: config.ackQuorum,
        quorumTimeoutMs: config.quorumTimeoutMs,
        onError,
      }),

    async runOutboxOnce() {
      // The first pass after start waits out no lease: no send of this process can be in flight,
      // and what its previous run left unconfirmed (a peer stopping beside it, a crash) goes out at
      // once; a send of another process on the same database costs at most a second copy ("held").
      const lease = startingUp ? 0 : leaseMs;
      startingUp = false;
      // A peer back from an outage gets what it missed now: what backed off while it was away,
      // and (waiting out no lease) what the upload path failed to send it. A restarted region
      // would otherwise lack the outage's batches, and serve reads without them, for up to a
      // backoff's maximum, or a lease after a restart shorter than one. An outage is an absence
      // longer than a lease, or one in which the peer's readiness probe failed: a copy in flight
      // to it as it returned may go twice (it answers `held`), so a busy peer shedding calls,
      // whose /readyz still answers, is not sent copies twice.
      const returned = new Set(peers.takeReturned(leaseMs));
      for (const peer of returned) {
        const resumed = await replicas.resume(peer, outboxRoundsMax * outboxClaimMax);
        if (resumed > 0) logger.info({ peer, entries: resumed }, "a returning peer's outbox entries are due now");
      }
      // An idle region's pass is this one query: the advance and the claim cost several statements
      // each, for every peer, twice a second.
      const owed = await replicas.owed();
      const results = await Promise.all(
        config.peers.map(async (peer) => {
          const held = confirmations(peer.name);
          forgetStale(held);
          const work = owed.get(peer.name) ?? { due: true, aboveMark: true };
          let late = 0;
          if (work.aboveMark) {
            const advanced = await replicas.advanceMark(
              peer.name,
              (key) => held.has(keyOf(key)),
              returned.has(peer.name) ? 0 : lease,
            );
            for (const key of advanced.passed) held.delete(keyOf(key));
            late = advanced.late;
          }
          if (!work.due && late === 0) return 0;
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
        } else if (result.error.kind === "unreachable" || result.error.kind === "timeout")
          logger.debug({ peer: peer.name, reason: result.error.message }, "anti-entropy skipped an unreachable peer");
        else logger.warn({ peer: peer.name, reason: result.error.message }, "anti-entropy skipped a peer");
      }
      return reports;
    },

    async probePeers() {
      await Promise.all(config.peers.map((peer) => peers.probe(peer)));
    },

    async peerHealth() {
      const backlog = await replicator.backlog();
      return peers.states().map((state) => ({
        name: state.name,
        backlog: backlog.get(state.name) ?? { entries: 0, oldestAgeMs: null },
        lastContactAt: state.lastContactAt === null ? null : new Date(state.lastContactAt).toISOString(),
        reachable: state.reachable,
      }));
    },

    backlog: () => replicas.backlog((peer, key) => confirmations(peer).has(keyOf(key))),

    async idle() {
      // Deferred copies go now: a stopping region leaves nothing it could send behind.
      await Promise.all([...queues.values()].map((queue) => queue.idle()));
    },

    degraded() {
      const reachable = peers.states().filter((state) => state.reachable).length;
      return reachable + 1 < config.ackQuorum;
    },

    start() {
      startingUp = true;
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

  let startingUp = false;
  /** Per peer: batches it confirmed to the upload path, by key, with when, until its mark passes them. */
  const confirmed = new Map<string, Map<string, number>>();
  function confirmations(peer: string): Map<string, number> {
    let held = confirmed.get(peer);
    if (!held) {
      held = new Map();
      confirmed.set(peer, held);
    }
    return held;
  }
  // A confirmation the mark never passes (its batch erased or replaced meanwhile) is let go after a
  // while; at worst its batch is sent once more.
  function forgetStale(held: Map<string, number>) {
    const before = clock.now() - 10 * leaseMs;
    for (const [key, atMs] of held) if (atMs < before) held.delete(key);
  }

  const queues = new Map<string, ReturnType<typeof createPeerQueue>>();
  function queueFor(peer: Region) {
    let queue = queues.get(peer.name);
    if (!queue) {
      queue = createPeerQueue(peer);
      queues.set(peer.name, queue);
    }
    return queue;
  }
  function reachableFirst(): Region[] {
    const reachable = new Set(
      peers
        .states()
        .filter((state) => state.reachable)
        .map((state) => state.name),
    );
    return [...config.peers].sort((a, b) => Number(reachable.has(b.name)) - Number(reachable.has(a.name)));
  }

  /**
   * One call to the peer at a time; what arrives meanwhile goes in the next, together. A call goes
   * as soon as a batch that is not deferred waits (taking the deferred ones along), else once the
   * oldest deferred one has waited `config.deferredCopyMs`, or a call's worth waits.
   */
  function createPeerQueue(peer: Region) {
    type Waiting = {
      replica: SealedBatch;
      requestId?: string;
      deferred: boolean;
      resolve: (confirmed: boolean) => void;
    };
    let waiting: Waiting[] = [];
    let running: Promise<void> | null = null;
    let linger: NodeJS.Timeout | undefined;
    const due = () => waiting.length >= replicateBatchesMax || waiting.some((entry) => !entry.deferred);
    function schedule() {
      if (running || waiting.length === 0) return;
      if (due()) {
        clearTimeout(linger);
        linger = undefined;
        running = drain();
      } else linger ??= setTimeout(hurry, config.deferredCopyMs);
    }
    function hurry() {
      linger = undefined;
      for (const entry of waiting) entry.deferred = false;
      schedule();
    }
    async function drain() {
      // One turn of the event loop first: the other batches of the group just committed are a few
      // promise steps behind the first, and go in its call rather than wait for it to return.
      await new Promise((resolve) => setImmediate(resolve));
      while (due()) {
        const group = waiting.slice(0, replicateBatchesMax);
        waiting = waiting.slice(replicateBatchesMax);
        let held = new Set<string>();
        try {
          const keys = await shipper.send(
            peer,
            group.map((entry) => entry.replica),
            group[0]?.requestId,
          );
          held = new Set(keys.map(keyOf));
        } catch (error) {
          onError(error);
        }
        const at = clock.now();
        const record = confirmations(peer.name);
        for (const entry of group) {
          const key = keyOf(entry.replica);
          if (held.has(key)) record.set(key, at);
          entry.resolve(held.has(key));
        }
      }
      running = null;
      schedule();
    }
    return {
      send(replica: SealedBatch, requestId: string | undefined, deferred: boolean): Delivery {
        let resolve: (confirmed: boolean) => void = () => undefined;
        const confirmed = new Promise<boolean>((settle) => {
          resolve = settle;
        });
        const entry: Waiting = { replica, requestId, deferred, resolve };
        waiting.push(entry);
        schedule();
        return {
          confirmed,
          hurry: () => {
            if (!entry.deferred) return;
            entry.deferred = false;
            schedule();
          },
        };
      },
      async idle() {
        if (waiting.length > 0) hurry();
        while (running) await running;
      },
    };
  }

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

function keyOf(key: BatchKey): string {
  return `${key.appId}/${key.batchId}`;
}
