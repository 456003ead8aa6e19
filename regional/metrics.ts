/**
 * What a region tells Prometheus, on the admin listener's `GET /metrics` (routes/metrics.ts).
 * One registry per region, not prom-client's global one, because tests run three regions in one
 * process. Names follow Prometheus conventions (base units, `_total` counters); no metric is
 * labelled by app or device: that would be one series per tenant, and tenant names in the
 * operators' monitoring.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Latencies from under a millisecond (a cached read) to the quorum timeout and beyond. */
const secondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/**
 * The ack's, finer where an acknowledged upload's latency lies under load (10 to 250 ms): with no
 * bound between 100 and 250 ms, a p99 anywhere in that range was only a straight-line guess
 * between them (the ingest bench's read 238-241 ms in every run).
 */
const ackBuckets = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5, 10];

export type RegionMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: { region: string; processMetrics?: boolean }) {
  const registry = new Registry();
  registry.setDefaultLabels({ region: options.region });
  // CPU, memory and event-loop lag of the process; only the server's own region asks for them, so
  // tests with three regions in one process do not count one process three times. The lag is
  // sampled every 100 ms, not prom-client's 10: a timer 100 times a second cost an idle process
  // about 5 ms of CPU a second (a fifth of an idle region's), 10 times a second about 1.
  if (options.processMetrics) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const registers = [registry];

  return {
    registry,
    batchesAccepted: new Counter({
      name: "stormlog_batches_accepted_total",
      help: "Batches accepted from the edge and acknowledged (202), duplicates included.",
      labelNames: ["duplicate"] as const,
      registers,
    }),
    linesAccepted: new Counter({
      name: "stormlog_lines_accepted_total",
      help: "Log lines in the batches acknowledged to the edge (duplicates excluded).",
      registers,
    }),
    ackSeconds: new Histogram({
      name: "stormlog_ack_seconds",
      help: "From an upload's arrival to its answer (202 once the ack quorum holds it, or the refusal).",
      labelNames: ["outcome"] as const,
      buckets: ackBuckets,
      registers,
    }),
    groupBatches: new Histogram({
      name: "stormlog_commit_group_batches",
      help: "Batches committed together in one transaction (group commit).",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    }),
    commitSeconds: new Histogram({
      name: "stormlog_commit_seconds",
      help: "Time of one group's transaction.",
      buckets: secondsBuckets,
      registers,
    }),
    replicationBacklog: new Gauge({
      name: "stormlog_replication_backlog_batches",
      help: "Batches accepted here and not yet confirmed by the peer.",
      labelNames: ["peer"] as const,
      registers,
    }),
    replicationLagSeconds: new Gauge({
      name: "stormlog_replication_lag_seconds",
      help: "Age of the oldest batch accepted here and not yet confirmed by the peer (0 when none).",
      labelNames: ["peer"] as const,
      registers,
    }),
    peerReachable: new Gauge({
      name: "stormlog_peer_reachable",
      help: "1 when the peer answered its last probe or call, else 0.",
      labelNames: ["peer"] as const,
      registers,
    }),
    replicasReceived: new Counter({
      name: "stormlog_replicas_received_total",
      help: "Batches received from peers (replication and repairs), by outcome.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    antiEntropySeconds: new Histogram({
      name: "stormlog_anti_entropy_pass_seconds",
      help: "One anti-entropy pass with one peer.",
      labelNames: ["peer"] as const,
      buckets: secondsBuckets,
      registers,
    }),
    antiEntropyRepairs: new Counter({
      name: "stormlog_anti_entropy_repairs_total",
      help: "Batches anti-entropy pushed to or pulled from a peer.",
      labelNames: ["peer", "direction"] as const,
      registers,
    }),
    readSeconds: new Histogram({
      name: "stormlog_read_seconds",
      help: "Reads served to the edge (logs, devices, tail, issues, usage), by route.",
      labelNames: ["route"] as const,
      buckets: secondsBuckets,
      registers,
    }),
    shed: new Counter({
      name: "stormlog_shed_total",
      help: "Uploads refused with 503 + Retry-After because the region was at capacity.",
      registers,
    }),
  };
}
