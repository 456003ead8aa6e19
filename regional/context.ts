/**
 * What the regional app's handlers get: the Hono environment type (request-scoped variables) and
 * the dependencies built once by createRegion and passed to each route factory.
 */
import type { RequestIdVariables } from "hono/request-id";
import type { Logger } from "pino";
import type { NonceCache } from "../shared/signing.ts";
import type { DatabaseHandle } from "./db/client.ts";
import type { Replicator } from "./replication/replicator.ts";
import type { BatchStore, Clock } from "./store/batch-store.ts";
import type { ReplicaStore } from "./store/replica-store.ts";

export type RegionEnv = {
  Variables: RequestIdVariables & {
    /** The request body as read (and size-checked) once by the signature middleware. */
    rawBody: Uint8Array<ArrayBuffer>;
  };
};

/** Process state the health probes report and the shutdown sequence changes. */
export type Lifecycle = { draining: boolean; inFlight: number };

export type RegionDeps = {
  region: string;
  regionSecret: string;
  store: BatchStore;
  replicas: ReplicaStore;
  replicator: Replicator;
  database: Pick<DatabaseHandle, "kind" | "ping">;
  nonces: NonceCache;
  lifecycle: Lifecycle;
  logger: Logger;
  clock: Clock;
};
