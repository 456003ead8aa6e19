/**
 * Builds one regional worker from its configuration: opens (and migrates) the database and the
 * key store (regional/keystore/, where erasures are re-applied), loads the keyring, and wires the store (store/index.ts: one face for the routes, one for
 * replication), the replicator, the logger and the two HTTP apps (the main one and the admin one,
 * see app.ts). server.ts serves the result; tests call `createRegion` directly and drive
 * `app.request()` / `adminApp.request()` or real ports.
 */
import type { Hono } from "hono";
import type { Logger } from "pino";
import { type Clock, systemClock } from "../shared/clock.ts";
import { Keyring } from "../shared/envelope.ts";
import { NonceCache } from "../shared/signing.ts";
import { createUploadAdmission, type UploadAdmission } from "./admission.ts";
import { createAdminApp, createRegionApp } from "./app.ts";
import type { RegionConfig } from "./config.ts";
import type { Lifecycle, RegionDeps, RegionEnv } from "./context.ts";
import { type Autovacuum, createAutovacuum } from "./db/autovacuum.ts";
import { type DatabaseHandle, openDatabase } from "./db/client.ts";
import { createExpiryLoop, type ExpiryLoop } from "./expiry-loop.ts";
import { openKeystore } from "./keystore/keystore.ts";
import type { Keystore } from "./keystore/types.ts";
import { createLogger } from "./log.ts";
import { createMetrics, type RegionMetrics } from "./metrics.ts";
import { createReplicator, type Replicator } from "./replication/replicator.ts";
import { type BatchCodec, createBatchCodec } from "./store/codec.ts";
import { applyErasure } from "./store/erasure.ts";
import { createBatchStore, createReplicaStore } from "./store/index.ts";
import type { BatchStore, ReplicaStore, WebhookStore } from "./store/types.ts";
import { createWebhookStore } from "./store/webhooks.ts";
import { createWebhookSender, type WebhookSender } from "./webhooks/sender.ts";

export type RegionOverrides = {
  logger?: Logger;
  clock?: Clock;
  /** Process CPU, memory and event-loop series in /metrics: for the one region of a process. */
  processMetrics?: boolean;
};

export type Region = {
  app: Hono<RegionEnv>;
  /** The admin routes, for the admin listener only. */
  adminApp: Hono<RegionEnv>;
  store: BatchStore;
  replicas: ReplicaStore;
  /** Background replication runs only after `replicator.start()` (server.ts does it). */
  replicator: Replicator;
  /** Retention's partitions and expiry; runs only after `expiry.start()` (server.ts does it). */
  expiry: ExpiryLoop;
  /** On PGlite, what PostgreSQL's autovacuum would do; runs only after `autovacuum.start()` (server.ts does it). */
  autovacuum: Autovacuum;
  /** Issue webhooks queued here; sent only after `webhooks.start()` (server.ts does it). */
  webhooks: WebhookSender;
  webhookStore: WebhookStore;
  database: DatabaseHandle;
  keystore: Keystore;
  /** How this region seals and opens batches (tests seal rows with it). */
  codec: BatchCodec;
  lifecycle: Lifecycle;
  /** Uploads in flight, and whether the next is shed (admission.ts). */
  admission: UploadAdmission;
  logger: Logger;
  metrics: RegionMetrics;
  /** Stops replication and closes the database; the app must not be served afterwards. */
  close(): Promise<void>;
};

export async function createRegion(config: RegionConfig, overrides: RegionOverrides = {}): Promise<Region> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, region: config.region });
  const clock = overrides.clock ?? systemClock;
  const metrics = createMetrics({ region: config.region, processMetrics: overrides.processMetrics });
  const keyring = await Keyring.fromConfig(config.keyring);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const keystore = await openKeystore(config.keystore, keyring).catch(async (error) => {
    await database.close();
    throw error;
  });
  const codec = createBatchCodec(keyring, keystore);
  const storeDeps = { db: database.db, soleSession: database.kind === "pglite", codec, keystore, clock, metrics };
  // Every erasure known here is applied again (it is idempotent): a batch data folder restored from
  // before one is cleaned before the region serves anything.
  for (const erasure of await keystore.list()) await applyErasure(storeDeps)(erasure);
  const store = createBatchStore(storeDeps);
  const replicas = createReplicaStore(storeDeps);
  // Before any upload is tracked by origin sequence for a peer, the peer has a mark to start from.
  await replicas.startMarks(config.replication.peers.map((peer) => peer.name));
  const replicator = createReplicator({
    region: config.region,
    peerSecret: config.secrets.peer,
    config: config.replication,
    replicas,
    logger,
    clock,
    metrics,
  });
  const expiry = createExpiryLoop({ store, intervalMs: config.lifecycleIntervalMs, logger });
  const autovacuum = createAutovacuum({ database, logger });
  const webhookStore = createWebhookStore(storeDeps);
  const webhooks = createWebhookSender({ store: webhookStore, logger, clock });
  const lifecycle: Lifecycle = { draining: false, inFlight: 0 };
  const admission = createUploadAdmission({ config: config.overload, clock, onShed: () => metrics.shed.inc() });
  const deps: RegionDeps = {
    region: config.region,
    secrets: config.secrets,
    store,
    replicas,
    replicator,
    webhooks: webhookStore,
    database,
    nonces: new NonceCache(),
    lifecycle,
    admission,
    logger,
    logSampleEvery: config.logSampleEvery,
    metrics,
    clock,
  };
  return {
    app: createRegionApp(deps),
    adminApp: createAdminApp(deps),
    store,
    replicas,
    replicator,
    expiry,
    autovacuum,
    webhooks,
    webhookStore,
    database,
    keystore,
    codec,
    lifecycle,
    admission,
    logger,
    metrics,
    async close() {
      await expiry.stop();
      await autovacuum.stop();
      await webhooks.stop();
      await replicator.stop();
      await database.close();
      await keystore.close();
    },
  };
}
