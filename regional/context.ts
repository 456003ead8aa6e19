/**
 * What the regional app's handlers get: the Hono environment type (request-scoped variables) and
 * the dependencies built once by createRegion and passed to each route factory.
 */
import type { MiddlewareHandler } from "hono";
import type { RequestIdVariables } from "hono/request-id";
import type { Logger } from "pino";
import type { Clock } from "../shared/clock.ts";
import type { CallerSecrets, NonceCache } from "../shared/signing.ts";
import type { UploadAdmission } from "./admission.ts";
import type { DatabaseHandle } from "./db/client.ts";
import type { RegionMetrics } from "./metrics.ts";
import type { Replicator } from "./replication/replicator.ts";
import type { BatchStore, ReplicaStore, WebhookStore } from "./store/types.ts";

export type RegionEnv = { Variables: RequestIdVariables };

/** Process state the health probes report and the shutdown sequence changes. */
export type Lifecycle = { draining: boolean; inFlight: number };

export type RegionDeps = {
  region: string;
  /** What each caller role signs with (see signature.ts). */
  secrets: CallerSecrets;
  store: BatchStore;
  replicas: ReplicaStore;
  replicator: Replicator;
  /** Each app's webhook, set by the admin CLI (routes/webhooks.ts). */
  webhooks: WebhookStore;
  database: Pick<DatabaseHandle, "kind" | "ping">;
  nonces: NonceCache;
  lifecycle: Lifecycle;
  /** Whether an upload may start now, or is shed with 503 OVERLOADED (admission.ts). */
  admission: UploadAdmission;
  logger: Logger;
  /** One plain success in this many is logged at info (app.ts). */
  logSampleEvery: number;
  metrics: RegionMetrics;
  clock: Clock;
};

/** What a route of a signed group gets: the guard of the one caller role it serves (signature.ts). */
export type Guarded = { guard: MiddlewareHandler<RegionEnv> };
