/**
 * Test helpers for the regional worker: a fresh migrated database per test file (PGlite in a
 * temp folder, and PostgreSQL too when TEST_DATABASE_URL is set), a region built on it, signed
 * calls to its apps, made exactly as the edge (or a peer, or the admin CLI) makes them, and read
 * keys registered in it, since a region serves reads only to a live read key.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Hono } from "hono";
import { pino } from "pino";
import postgres from "postgres";
import { afterAll, beforeAll } from "vitest";
import { randomBytes, toHex, utf8 } from "../../shared/encoding.ts";
import { generateKeyMaterial, type KeyringConfig } from "../../shared/envelope.ts";
import { type KeyKind, keyHash, keyKinds, keyLabel, mintKey } from "../../shared/keys.ts";
import { type CallerRole, type CallerSecrets, signRequest } from "../../shared/signing.ts";
import { overloadDefaults } from "../admission.ts";
import { keystoreDirBeside, type RegionConfig, replicationDefaults } from "../config.ts";
import type { RegionEnv } from "../context.ts";
import type { DatabaseKind } from "../db/client.ts";
import { createRegion, type Region, type RegionOverrides } from "../region.ts";
import { copyMigratedPglite } from "./pglite-template.ts";

const postgresUrl = process.env.TEST_DATABASE_URL;

/** The drivers every storage test runs on. */
export const drivers: DatabaseKind[] = postgresUrl ? ["pglite", "postgres"] : ["pglite"];

/** One secret per caller role, as a region is configured. */
export const testSecrets: CallerSecrets = {
  edge: "test-edge-secret-0123456789abcdef0123",
  peer: "test-peer-secret-0123456789abcdef0123",
  admin: "test-admin-secret-0123456789abcdef012",
};
/** What the test regions' app keys are minted with (the admin CLI's key secret). */
export const testKeySecret = "test-key-secret-0123456789abcdef012345";

export type TestDatabase = {
  kind: DatabaseKind;
  databaseUrl: string | undefined;
  dataDir: string;
  /** The key store, apart from the batch data as in production: a sibling folder, or a database of its own. */
  keystore: { databaseUrl: string | undefined; dataDir: string };
  drop(): Promise<void>;
};

/**
 * A database of its own and a key store, which the region migrates when it opens them: on
 * PostgreSQL empty ones; on PGlite copies of a pair migrated once per run
 * (pglite-template.ts), or with `{ empty: true }` empty folders, for the migration tests.
 */
export async function createTestDatabase(
  kind: DatabaseKind,
  { empty = false }: { empty?: boolean } = {},
): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "stormlog-regional-"));
  const keystoreDir = keystoreDirBeside(dataDir);
  const removeFolders = async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(keystoreDir, { recursive: true, force: true });
  };
  if (kind === "pglite") {
    if (!empty) await copyMigratedPglite(dataDir, keystoreDir);
    return {
      kind,
      databaseUrl: undefined,
      dataDir,
      keystore: { databaseUrl: undefined, dataDir: keystoreDir },
      drop: removeFolders,
    };
  }
  if (!postgresUrl) throw new Error("TEST_DATABASE_URL is not set");
  const name = `stormlog_test_${toHex(randomBytes(6))}`;
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  await admin.unsafe(`create database ${name}_keys`);
  await admin.end();
  const urlOf = (database: string) => {
    const url = new URL(postgresUrl);
    url.pathname = `/${database}`;
    return url.toString();
  };
  return {
    kind,
    databaseUrl: urlOf(name),
    dataDir,
    keystore: { databaseUrl: urlOf(`${name}_keys`), dataDir: keystoreDir },
    async drop() {
      const cleanup = postgres(postgresUrl, { max: 1, onnotice: () => undefined });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.unsafe(`drop database if exists ${name}_keys with (force)`);
      await cleanup.end();
      await removeFolders();
    },
  };
}

export function testKeyring(active = "k1", keys: Record<string, string> = { [active]: generateKeyMaterial() }) {
  return { active, keys } satisfies KeyringConfig;
}

export function testConfig(database: TestDatabase, overrides: Partial<RegionConfig> = {}): RegionConfig {
  return {
    region: "eu-west",
    host: "127.0.0.1",
    port: 0,
    adminHost: "127.0.0.1",
    adminPort: 0,
    databaseUrl: database.databaseUrl,
    dataDir: database.dataDir,
    keystore: database.keystore,
    secrets: testSecrets,
    keyring: testKeyring(),
    logLevel: "silent",
    logSampleEvery: 1,
    shutdownTimeoutMs: 1000,
    lifecycleIntervalMs: 600_000,
    replication: { ...replicationDefaults, peers: [], ackQuorum: 1 },
    // A test region sheds only where a test asks it to. On a CI machine running test files side
    // by side, a cold region's first store took over the default 500 ms, and the uploads sent with
    // it were shed (503 OVERLOADED) in tests about other things (replication marks).
    overload: { ...overloadDefaults, uploadWaitMsMax: 30_000 },
    ...overrides,
  };
}

export function startTestRegion(
  database: TestDatabase,
  overrides: Partial<RegionConfig> = {},
  deps: RegionOverrides = {},
): Promise<Region> {
  return createRegion(testConfig(database, overrides), { logger: pino({ level: "silent" }), ...deps });
}

/**
 * A migrated database and a region on it for the enclosing `describe`, created before its tests
 * and dropped after them. The fields are set by the hooks, so read them inside tests; a test may
 * replace `region` (a restart with another keyring) and the fixture closes the last one.
 */
export function useTestRegion(kind: DatabaseKind, overrides: Partial<RegionConfig> = {}) {
  const fixture = {} as { database: TestDatabase; region: Region };
  beforeAll(async () => {
    fixture.database = await createTestDatabase(kind);
    fixture.region = await startTestRegion(fixture.database, overrides);
  });
  afterAll(async () => {
    await fixture.region?.close();
    await fixture.database?.drop();
  });
  return fixture;
}

export type SignedOptions = {
  /** A value to send as JSON, or the exact body text or bytes. */
  json?: unknown;
  body?: string | Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
  /** Who signs (default the edge, with its secret) and for which region (default eu-west). */
  role?: CallerRole;
  secret?: string;
  audience?: string;
  /** The read key an edge read carries. */
  appKey?: string;
};

/**
 * Calls an app in-process with a request signed as the edge signs it (or as `options.role`).
 * @example await signedRequest(t.region.app, "GET", internalPaths.logs(appId), { appKey: readKey })
 */
export async function signedRequest(
  app: Hono<RegionEnv>,
  method: "GET" | "POST" | "PUT" | "DELETE",
  pathAndQuery: string,
  options: SignedOptions = {},
): Promise<Response> {
  const body =
    options.json !== undefined
      ? utf8(JSON.stringify(options.json))
      : typeof options.body === "string"
        ? utf8(options.body)
        : options.body;
  const role = options.role ?? "edge";
  const signer = { role, secret: options.secret ?? testSecrets[role], audience: options.audience ?? "eu-west" };
  const signature = await signRequest(signer, {
    method,
    pathAndQuery,
    body: body ?? new Uint8Array(0),
    appKey: options.appKey,
  });
  const headers: Record<string, string> = { ...signature };
  if (body !== undefined) headers["content-type"] = "application/json";
  return app.request(pathAndQuery, { method, headers: { ...headers, ...options.headers }, body });
}

/** The admin listener's app, called as the admin CLI calls it. */
export function adminRequest(
  region: Pick<Region, "adminApp">,
  method: "GET" | "POST" | "PUT",
  pathAndQuery: string,
  options: SignedOptions = {},
): Promise<Response> {
  return signedRequest(region.adminApp, method, pathAndQuery, { role: "admin", ...options });
}

/**
 * Registers the app in the region (as the admin CLI would) with a fresh read key, and returns the
 * key: what an edge read must carry.
 */
export async function readKeyFor(region: Pick<Region, "store">, appId: string): Promise<string> {
  const key = await mintKey(testKeySecret, appId, "read");
  const known = (await region.store.listApps()).find((app) => app.id === appId);
  await region.store.upsertApp({
    id: appId,
    name: known?.name ?? "test app",
    keys: [{ hash: await keyHash(key), kind: "read", label: keyLabel(key) }],
  });
  return key;
}

/** A new app registered in the region with one key of each kind, as `admin apps create` makes it. */
export async function appWithKeys(
  region: Pick<Region, "store">,
  name = "test app",
): Promise<{ appId: string; keys: Record<KeyKind, string> }> {
  const appId = testAppId();
  const keys = {} as Record<KeyKind, string>;
  for (const kind of keyKinds) keys[kind] = await mintKey(testKeySecret, appId, kind);
  await region.store.upsertApp({
    id: appId,
    name,
    keys: await Promise.all(
      keyKinds.map(async (kind) => ({ hash: await keyHash(keys[kind]), kind, label: keyLabel(keys[kind]) })),
    ),
  });
  return { appId, keys };
}

/** A 16-character app id, as the admin CLI mints them. */
export function testAppId(): string {
  return toHex(randomBytes(8));
}
