/**
 * The regional worker's runtime entry: reads the configuration, builds the region, serves it on
 * two listeners (the main one on STORMLOG_HOST:STORMLOG_PORT, the admin one on
 * STORMLOG_ADMIN_HOST:STORMLOG_ADMIN_PORT, loopback by default), and shuts down cleanly. On
 * SIGTERM or SIGINT it drains: health turns to `draining`, new signed calls get 503, the
 * listeners close, and calls in flight get up to STORMLOG_SHUTDOWN_TIMEOUT_MS to finish before
 * the database is closed and the process exits 0.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import v8 from "node:v8";
import { serve } from "@hono/node-server";
import { ConfigError, loadConfig, type RegionConfig } from "./config.ts";
import { createRegion } from "./region.ts";

// A region's heap is small and steady (about 35 MB: code, PGlite, caches) while it allocates fast
// and briefly per batch. V8 sizes the next old-generation limit from how much survives, so a peer
// (which keeps little) got the minimum growth, less room than its young generation holds, and
// started a mark-compact about every second: a fifth of its CPU. A fixed factor of 2 leaves room;
// the origin, whose own factor was the maximum (4), then compacts every few seconds, not every ten.
v8.setFlagsFromString("--heap-growing-percent=100");

let config: RegionConfig;
try {
  config = loadConfig();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}

const region = await createRegion(config, { processMetrics: true }).catch((error: unknown) => {
  console.error(`cannot start region ${config.region}:`, error);
  process.exit(1);
});
const { logger, lifecycle } = region;

function listen(fetch: typeof region.app.fetch, hostname: string, port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server)) as Server;
    server.on("error", async (error) => {
      logger.fatal({ err: error }, "server error");
      await region.close().catch(() => undefined);
      process.exit(1);
    });
  });
}

function urlOf(server: Server): string {
  const info = server.address() as AddressInfo;
  return `http://${info.family === "IPv6" ? `[${info.address}]` : info.address}:${info.port}`;
}

const servers = [
  await listen(region.app.fetch, config.host, config.port),
  await listen(region.adminApp.fetch, config.adminHost, config.adminPort),
];
const [server, adminServer] = servers as [Server, Server];
logger.info({ url: urlOf(server), adminUrl: urlOf(adminServer), database: region.database.kind }, "listening");
// Outbox, anti-entropy and peer probes run only while serving: a peer can then reach us back.
region.replicator.start();
// Partitions ahead and expired ones dropped: at boot, then every STORMLOG_LIFECYCLE_INTERVAL_MS.
region.expiry.start();
// On PGlite, which has no autovacuum of its own: statistics and dead rows kept up, every minute.
region.autovacuum.start();
region.webhooks.start();

let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, inFlight: lifecycle.inFlight }, "draining");
  lifecycle.draining = true;
  // The outbox keeps whatever is unsent; the next start (or another process) sends it.
  await region.replicator.stop();
  await region.expiry.stop();
  await region.autovacuum.stop();
  await region.webhooks.stop();
  const closed = Promise.all(
    servers.map((listener) => new Promise<void>((resolve) => listener.close(() => resolve()))),
  );
  const deadline = Date.now() + config.shutdownTimeoutMs;
  while (lifecycle.inFlight > 0 && Date.now() < deadline) await delay(20);
  if (lifecycle.inFlight > 0)
    logger.warn({ inFlight: lifecycle.inFlight }, "shutdown timeout: cutting calls in flight");
  // An upload is answered once the quorum holds it; its copy to the last peer may still be on its
  // way. Let it arrive (within the bound): a region that stops for good leaves no batch in two
  // regions only. What does not arrive is above the peer's mark and goes out at the next start.
  await Promise.race([region.replicator.idle(), delay(Math.max(0, deadline - Date.now()))]);
  // Keep-alive connections would hold the listeners open; nothing more is served on them.
  for (const listener of servers) listener.closeAllConnections();
  await closed;
  await region.close();
  logger.info("stopped");
  process.exit(0);
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    shutdown(signal).catch((error: unknown) => {
      logger.fatal({ err: error }, "shutdown failed");
      process.exit(1);
    });
  });
}
