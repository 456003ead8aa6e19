/**
 * The regional worker's configuration: the only module that reads `process.env`.
 *
 * `loadConfig` parses the environment with zod and throws a `ConfigError` naming the first bad
 * variable; server.ts prints it and exits 1, so a misconfigured region never starts half-working.
 * Tests build a `RegionConfig` directly and skip the environment altogether.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { describeIssues } from "../shared/batch.ts";
import { type KeyringConfig, keyringConfigSchema } from "../shared/envelope.ts";
import { type Region, regionNameSchema, regionsSchema } from "../shared/regions.ts";
import type { CallerSecrets } from "../shared/signing.ts";
import { type OverloadConfig, overloadDefaults } from "./admission.ts";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export type RegionConfig = {
  region: string;
  /** The main listener: health probes, the edge's calls and the peers'. */
  host: string;
  port: number;
  /** The admin listener (the admin CLI's calls only); loopback unless told otherwise. */
  adminHost: string;
  adminPort: number;
  /** PostgreSQL when set; otherwise PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /**
   * The key store (regional/keystore/): PostgreSQL when `databaseUrl` is set (a database apart from
   * the batch data's), otherwise PGlite in `dataDir`, by default beside the data folder, never in it,
   * so restoring the data folder from a backup does not bring back keys an erasure destroyed.
   */
  keystore: { databaseUrl: string | undefined; dataDir: string };
  /** The HMAC secret of each caller role: the edge, the peers, the admin CLI. */
  secrets: CallerSecrets;
  keyring: KeyringConfig;
  logLevel: LogLevel;
  /**
   * One plain success in this many is logged at info (app.ts); every other one at debug. Failures
   * are always logged.
   */
  logSampleEvery: number;
  shutdownTimeoutMs: number;
  /**
   * How often the region creates the partitions ahead that retention needs and drops the expired
   * ones (regional/expiry-loop.ts): a batch is gone within a day plus this of expiring.
   */
  lifecycleIntervalMs: number;
  replication: ReplicationConfig;
  /** When the region refuses uploads with 503 OVERLOADED before storing them (admission.ts). */
  overload: OverloadConfig;
};

export const lifecycleIntervalMsDefault = 600_000;

export type ReplicationConfig = {
  /** The other regions, by name and URL; empty for a single region. */
  peers: Region[];
  /** Regions (this one included) that must hold a batch before it is acknowledged. */
  ackQuorum: number;
  /** How long an upload waits for the quorum before answering 503 QUORUM_UNAVAILABLE. */
  quorumTimeoutMs: number;
  /** One call to a peer (replicate, digests, repair). */
  peerTimeoutMs: number;
  /**
   * How long a copy the ack quorum does not wait for may wait for later batches to go with it to
   * its peer (replication/quorum.ts), so spaced-out uploads cost that peer fewer calls and commits.
   */
  deferredCopyMs: number;
  /** How often the outbox is worked, and the first and largest backoff after a failed send. */
  outboxIntervalMs: number;
  outboxBackoffBaseMs: number;
  outboxBackoffMaxMs: number;
  /** How often digests are compared with each peer. */
  antiEntropyIntervalMs: number;
  /**
   * How long after an hour ends anti-entropy first compares it: until then its batches may still be
   * in flight (replication delivers them), and comparing would find divergence that is not there.
   */
  antiEntropySettleMs: number;
  /** How often peers are probed for health (what `status: degraded` is based on). */
  peerProbeIntervalMs: number;
};

export const replicationDefaults: Omit<ReplicationConfig, "peers"> = {
  ackQuorum: 2,
  quorumTimeoutMs: 1500,
  peerTimeoutMs: 5000,
  deferredCopyMs: 50,
  outboxIntervalMs: 500,
  outboxBackoffBaseMs: 500,
  outboxBackoffMaxMs: 60_000,
  antiEntropyIntervalMs: 30_000,
  antiEntropySettleMs: 120_000,
  peerProbeIntervalMs: 2000,
};

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
/** 0 asks the system for any free port (tests); the `listening` log line says which. */
const portSchema = z.coerce.number().int().min(0).max(65535);

const secretSchema = z.string().min(32, "expected at least 32 characters");

/** One variable per role's secret; they must differ, or one leak would open more than one role. */
const secretVariables = {
  edge: "STORMLOG_EDGE_SECRET",
  peer: "STORMLOG_PEER_SECRET",
  admin: "STORMLOG_ADMIN_SECRET",
} as const satisfies Record<keyof CallerSecrets, string>;

const envSchema = z.object({
  STORMLOG_REGION: regionNameSchema,
  STORMLOG_HOST: z.string().min(1).default("0.0.0.0"),
  STORMLOG_PORT: portSchema.default(8700),
  STORMLOG_ADMIN_HOST: z.string().min(1).default("127.0.0.1"),
  STORMLOG_ADMIN_PORT: portSchema.default(8710),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  STORMLOG_DATA_DIR: z.string().min(1).optional(),
  STORMLOG_KEYSTORE_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  STORMLOG_KEYSTORE_DIR: z.string().min(1).optional(),
  STORMLOG_EDGE_SECRET: secretSchema,
  STORMLOG_PEER_SECRET: secretSchema,
  STORMLOG_ADMIN_SECRET: secretSchema,
  STORMLOG_KEYRING: z.string().min(1).optional(),
  STORMLOG_KEYRING_FILE: z.string().min(1).optional(),
  STORMLOG_LOG_LEVEL: logLevelSchema.default("info"),
  STORMLOG_LOG_SAMPLE_EVERY: z.coerce.number().int().min(0).max(1_000_000).default(100),
  STORMLOG_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  STORMLOG_PEERS: z.string().optional(),
  STORMLOG_ACK_QUORUM: z.coerce.number().int().min(1).max(16).optional(),
  STORMLOG_QUORUM_TIMEOUT_MS: msSchema(replicationDefaults.quorumTimeoutMs),
  STORMLOG_PEER_TIMEOUT_MS: msSchema(replicationDefaults.peerTimeoutMs),
  STORMLOG_DEFERRED_COPY_MS: z.coerce.number().int().min(0).max(60_000).default(replicationDefaults.deferredCopyMs),
  STORMLOG_OUTBOX_INTERVAL_MS: msSchema(replicationDefaults.outboxIntervalMs),
  STORMLOG_OUTBOX_BACKOFF_MAX_MS: msSchema(replicationDefaults.outboxBackoffMaxMs),
  STORMLOG_ANTI_ENTROPY_INTERVAL_MS: msSchema(replicationDefaults.antiEntropyIntervalMs),
  STORMLOG_ANTI_ENTROPY_SETTLE_MS: msSchema(replicationDefaults.antiEntropySettleMs),
  STORMLOG_LIFECYCLE_INTERVAL_MS: msSchema(lifecycleIntervalMsDefault),
  STORMLOG_UPLOADS_IN_FLIGHT_MAX: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(overloadDefaults.uploadsInFlightMax),
  STORMLOG_UPLOAD_WAIT_MS_MAX: msSchema(overloadDefaults.uploadWaitMsMax),
});

function msSchema(fallback: number) {
  return z.coerce.number().int().min(1).max(3_600_000).default(fallback);
}

/**
 * Reads and checks the environment.
 * @example loadConfig({ STORMLOG_REGION: "eu-west", STORMLOG_EDGE_SECRET: "…", STORMLOG_PEER_SECRET: "…",
 *   STORMLOG_ADMIN_SECRET: "…", STORMLOG_KEYRING: "{…}" })
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): RegionConfig {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  if (present.STORMLOG_REGION_SECRET !== undefined) {
    // Left set, it would look used while nothing reads it: say what replaced it.
    throw new ConfigError(
      `invalid environment: STORMLOG_REGION_SECRET is no longer read; each caller has its own secret now: set ${Object.values(secretVariables).join(", ")} (and remove STORMLOG_REGION_SECRET)`,
    );
  }
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(`invalid environment: ${describeIssues(parsed.error)}`);
  const vars = parsed.data;
  const secrets: CallerSecrets = {
    edge: vars.STORMLOG_EDGE_SECRET,
    peer: vars.STORMLOG_PEER_SECRET,
    admin: vars.STORMLOG_ADMIN_SECRET,
  };
  checkSecretsDiffer(secrets);
  if (vars.STORMLOG_ADMIN_PORT === vars.STORMLOG_PORT && vars.STORMLOG_PORT !== 0) {
    throw new ConfigError("invalid environment: STORMLOG_ADMIN_PORT: must differ from STORMLOG_PORT");
  }
  const dataDir = vars.STORMLOG_DATA_DIR ?? `.stormlog/data/${vars.STORMLOG_REGION}`;
  if (vars.DATABASE_URL !== undefined && vars.STORMLOG_KEYSTORE_DATABASE_URL === undefined) {
    // Several processes share a PostgreSQL region's database; a PGlite key store would be one per
    // process, each creating and destroying keys the others do not see.
    throw new ConfigError(
      "invalid environment: STORMLOG_KEYSTORE_DATABASE_URL: required with DATABASE_URL (the key store's own PostgreSQL database)",
    );
  }
  if (vars.STORMLOG_KEYSTORE_DATABASE_URL !== undefined && vars.STORMLOG_KEYSTORE_DATABASE_URL === vars.DATABASE_URL) {
    throw new ConfigError(
      "invalid environment: STORMLOG_KEYSTORE_DATABASE_URL: must differ from DATABASE_URL (keys are kept apart from the batch data and its backups)",
    );
  }
  return {
    region: vars.STORMLOG_REGION,
    host: vars.STORMLOG_HOST,
    port: vars.STORMLOG_PORT,
    adminHost: vars.STORMLOG_ADMIN_HOST,
    adminPort: vars.STORMLOG_ADMIN_PORT,
    databaseUrl: vars.DATABASE_URL,
    dataDir,
    keystore: {
      databaseUrl: vars.STORMLOG_KEYSTORE_DATABASE_URL,
      dataDir: vars.STORMLOG_KEYSTORE_DIR ?? keystoreDirBeside(dataDir),
    },
    secrets,
    keyring: loadKeyring(vars.STORMLOG_KEYRING, vars.STORMLOG_KEYRING_FILE),
    logLevel: vars.STORMLOG_LOG_LEVEL,
    logSampleEvery: vars.STORMLOG_LOG_SAMPLE_EVERY,
    shutdownTimeoutMs: vars.STORMLOG_SHUTDOWN_TIMEOUT_MS,
    lifecycleIntervalMs: vars.STORMLOG_LIFECYCLE_INTERVAL_MS,
    replication: {
      ...replicationDefaults,
      ...peersAndQuorum(vars.STORMLOG_PEERS, vars.STORMLOG_REGION, vars.STORMLOG_ACK_QUORUM),
      quorumTimeoutMs: vars.STORMLOG_QUORUM_TIMEOUT_MS,
      peerTimeoutMs: vars.STORMLOG_PEER_TIMEOUT_MS,
      deferredCopyMs: vars.STORMLOG_DEFERRED_COPY_MS,
      outboxIntervalMs: vars.STORMLOG_OUTBOX_INTERVAL_MS,
      outboxBackoffMaxMs: vars.STORMLOG_OUTBOX_BACKOFF_MAX_MS,
      antiEntropyIntervalMs: vars.STORMLOG_ANTI_ENTROPY_INTERVAL_MS,
      antiEntropySettleMs: vars.STORMLOG_ANTI_ENTROPY_SETTLE_MS,
    },
    overload: {
      uploadsInFlightMax: vars.STORMLOG_UPLOADS_IN_FLIGHT_MAX,
      uploadWaitMsMax: vars.STORMLOG_UPLOAD_WAIT_MS_MAX,
    },
  };
}

/** `<dataDir>-keys`: a sibling of the data folder, so a copy or restore of one leaves the other alone. */
export function keystoreDirBeside(dataDir: string): string {
  return `${dataDir.replace(/[\\/]+$/, "")}-keys`;
}

function checkSecretsDiffer(secrets: CallerSecrets): void {
  const roles = Object.keys(secretVariables) as (keyof CallerSecrets)[];
  for (const [index, role] of roles.entries()) {
    const same = roles.slice(index + 1).find((other) => secrets[other] === secrets[role]);
    if (same) {
      throw new ConfigError(
        `invalid environment: ${secretVariables[same]}: must differ from ${secretVariables[role]} (one secret per caller role)`,
      );
    }
  }
}

/**
 * Peers as JSON `[{name,url}]`, and the quorum: 2 by default, 1 for a lone region (no peers). A
 * quorum larger than the cluster could never be met, so it is refused at boot.
 */
function peersAndQuorum(
  text: string | undefined,
  self: string,
  quorum: number | undefined,
): { peers: Region[]; ackQuorum: number } {
  let peers: Region[] = [];
  if (text !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ConfigError("invalid environment: STORMLOG_PEERS: not JSON");
    }
    const parsed = regionsSchema.safeParse(json);
    if (!parsed.success) throw new ConfigError(`invalid environment: STORMLOG_PEERS: ${describeIssues(parsed.error)}`);
    peers = parsed.data;
  }
  if (peers.some((peer) => peer.name === self)) {
    throw new ConfigError(`invalid environment: STORMLOG_PEERS: lists this region (${self}) itself`);
  }
  const ackQuorum = quorum ?? Math.min(replicationDefaults.ackQuorum, peers.length + 1);
  if (ackQuorum > peers.length + 1) {
    throw new ConfigError(
      `invalid environment: STORMLOG_ACK_QUORUM: ${ackQuorum} regions, but the cluster has ${peers.length + 1} (set STORMLOG_PEERS)`,
    );
  }
  return { peers, ackQuorum };
}

function loadKeyring(inline: string | undefined, file: string | undefined): KeyringConfig {
  if ((inline === undefined) === (file === undefined)) {
    throw new ConfigError("invalid environment: set exactly one of STORMLOG_KEYRING and STORMLOG_KEYRING_FILE");
  }
  const name = inline !== undefined ? "STORMLOG_KEYRING" : "STORMLOG_KEYRING_FILE";
  let text = inline;
  if (text === undefined) {
    try {
      text = readFileSync(file as string, "utf8");
    } catch (error) {
      throw new ConfigError(`invalid environment: STORMLOG_KEYRING_FILE: cannot read ${file}: ${String(error)}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`invalid environment: ${name}: not JSON`);
  }
  const keyring = keyringConfigSchema.safeParse(json);
  if (!keyring.success) throw new ConfigError(`invalid environment: ${name}: ${describeIssues(keyring.error)}`);
  return keyring.data;
}
