/**
 * The region's own retention housekeeping: one `BatchStore.expire` run at boot and then every
 * `lifecycleIntervalMs` (STORMLOG_LIFECYCLE_INTERVAL_MS, 10 min by default). Each run creates the
 * partitions that batches received before the next run will need, drops those whose day has
 * passed, and deletes devices with no batch left (store/expire.ts). Every process of a region may
 * run it: creating and dropping are safe to repeat and to race (store/partitions.ts).
 *
 * Like replication, it runs only after `start()` (server.ts); tests call `runOnce` themselves.
 */
import type { Logger } from "pino";
import { backgroundLoop } from "./background-loop.ts";
import type { BatchStore, ExpiryReport } from "./store/types.ts";

export type ExpiryLoop = {
  runOnce(): Promise<ExpiryReport>;
  start(): void;
  stop(): Promise<void>;
};

export function createExpiryLoop(options: { store: BatchStore; intervalMs: number; logger: Logger }): ExpiryLoop {
  const { store, intervalMs, logger } = options;

  async function runOnce(): Promise<ExpiryReport> {
    // Partitions ahead cover two intervals, so one failed run leaves no write without its partition.
    const report = await store.expire(2 * intervalMs);
    if (report.partitionsDropped > 0 || report.devicesDeleted > 0) logger.info(report, "expired");
    return report;
  }

  const loop = backgroundLoop({
    intervalMs,
    step: runOnce,
    onError: (error) => logger.warn({ err: error }, "lifecycle run failed; retrying next interval"),
  });
  return { runOnce, start: loop.start, stop: loop.stop };
}
