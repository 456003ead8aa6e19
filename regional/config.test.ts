// Configuration from the environment: defaults, and a refusal that names the bad variable.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeyMaterial } from "../shared/envelope.ts";
import { overloadDefaults } from "./admission.ts";
import { ConfigError, loadConfig, replicationDefaults } from "./config.ts";

const keyring = { active: "k1", keys: { k1: generateKeyMaterial() } };
const secrets = { edge: "e".repeat(32), peer: "p".repeat(32), admin: "a".repeat(32) };
const minimal = {
  STORMLOG_REGION: "eu-west",
  STORMLOG_EDGE_SECRET: secrets.edge,
  STORMLOG_PEER_SECRET: secrets.peer,
  STORMLOG_ADMIN_SECRET: secrets.admin,
  STORMLOG_KEYRING: JSON.stringify(keyring),
};

describe("loadConfig", () => {
  it("fills in defaults", () => {
    expect(loadConfig(minimal)).toEqual({
      region: "eu-west",
      host: "0.0.0.0",
      port: 8700,
      adminHost: "127.0.0.1",
      adminPort: 8710,
      databaseUrl: undefined,
      dataDir: ".stormlog/data/eu-west",
      // Beside the data folder, never in it: restoring one does not restore the other.
      keystore: { databaseUrl: undefined, dataDir: ".stormlog/data/eu-west-keys" },
      secrets,
      keyring,
      logLevel: "info",
      logSampleEvery: 100,
      shutdownTimeoutMs: 10_000,
      lifecycleIntervalMs: 600_000,
      replication: { ...replicationDefaults, peers: [], ackQuorum: 1 },
      overload: overloadDefaults,
    });
  });

  it("refuses the key store in the batch data's own database, or missing beside it, naming the variable", () => {
    const url = "postgres://postgres@127.0.0.1:5432/stormlog";
    expect(() => loadConfig({ ...minimal, DATABASE_URL: url })).toThrow(
      /STORMLOG_KEYSTORE_DATABASE_URL: required with DATABASE_URL/,
    );
    expect(() => loadConfig({ ...minimal, DATABASE_URL: url, STORMLOG_KEYSTORE_DATABASE_URL: url })).toThrow(
      /STORMLOG_KEYSTORE_DATABASE_URL: must differ from DATABASE_URL/,
    );
  });

  it("reads peers and the quorum, and refuses a quorum the cluster cannot meet", () => {
    const peers = [
      { name: "us-east", url: "http://127.0.0.1:8702" },
      { name: "ap-south", url: "http://127.0.0.1:8703" },
    ];
    const withPeers = loadConfig({ ...minimal, STORMLOG_PEERS: JSON.stringify(peers) });
    expect(withPeers.replication).toMatchObject({ peers, ackQuorum: 2 });
    const three = loadConfig({ ...minimal, STORMLOG_PEERS: JSON.stringify(peers), STORMLOG_ACK_QUORUM: "3" });
    expect(three.replication.ackQuorum).toBe(3);
    expect(() => loadConfig({ ...minimal, STORMLOG_ACK_QUORUM: "2" })).toThrow(/STORMLOG_ACK_QUORUM/);
    expect(() => loadConfig({ ...minimal, STORMLOG_PEERS: "[{" })).toThrow(/STORMLOG_PEERS: not JSON/);
    const self = JSON.stringify([{ name: "eu-west", url: "http://127.0.0.1:8701" }]);
    expect(() => loadConfig({ ...minimal, STORMLOG_PEERS: self })).toThrow(/STORMLOG_PEERS: lists this region/);
  });

  it("reads every variable", () => {
    const config = loadConfig({
      ...minimal,
      STORMLOG_HOST: "127.0.0.1",
      STORMLOG_PORT: "8702",
      STORMLOG_ADMIN_HOST: "::1",
      STORMLOG_ADMIN_PORT: "8712",
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/stormlog",
      STORMLOG_DATA_DIR: "/var/lib/stormlog",
      STORMLOG_KEYSTORE_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/stormlog_keys",
      STORMLOG_LOG_LEVEL: "warn",
      STORMLOG_LOG_SAMPLE_EVERY: "1",
      STORMLOG_SHUTDOWN_TIMEOUT_MS: "2500",
      STORMLOG_UPLOADS_IN_FLIGHT_MAX: "32",
      STORMLOG_UPLOAD_WAIT_MS_MAX: "250",
      STORMLOG_ANTI_ENTROPY_SETTLE_MS: "300000",
    });
    expect(config.replication.antiEntropySettleMs).toBe(300_000);
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8702,
      adminHost: "::1",
      adminPort: 8712,
      databaseUrl: "postgres://postgres@127.0.0.1:5432/stormlog",
      dataDir: "/var/lib/stormlog",
      keystore: { databaseUrl: "postgres://postgres@127.0.0.1:5432/stormlog_keys", dataDir: "/var/lib/stormlog-keys" },
      logLevel: "warn",
      logSampleEvery: 1,
      shutdownTimeoutMs: 2500,
      overload: { uploadsInFlightMax: 32, uploadWaitMsMax: 250 },
    });
  });

  it("reads the keyring from a file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "stormlog-config-"));
    const file = path.join(dir, "keyring.json");
    try {
      await writeFile(file, JSON.stringify(keyring));
      const { STORMLOG_KEYRING: _inline, ...rest } = minimal;
      expect(loadConfig({ ...rest, STORMLOG_KEYRING_FILE: file }).keyring).toEqual(keyring);
      expect(() => loadConfig({ ...rest, STORMLOG_KEYRING_FILE: `${file}.missing` })).toThrow(
        /STORMLOG_KEYRING_FILE: cannot read/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["a missing region", { STORMLOG_REGION: undefined }, "STORMLOG_REGION"],
    ["a bad region name", { STORMLOG_REGION: "EU West" }, "STORMLOG_REGION"],
    ["a port that is not a number", { STORMLOG_PORT: "http" }, "STORMLOG_PORT"],
    ["a port out of range", { STORMLOG_PORT: "70000" }, "STORMLOG_PORT"],
    ["a short secret", { STORMLOG_EDGE_SECRET: "short" }, "STORMLOG_EDGE_SECRET"],
    ["a missing secret", { STORMLOG_PEER_SECRET: undefined }, "STORMLOG_PEER_SECRET"],
    ["a missing admin secret", { STORMLOG_ADMIN_SECRET: undefined }, "STORMLOG_ADMIN_SECRET"],
    [
      "the edge's secret reused for the admin role",
      { STORMLOG_ADMIN_SECRET: secrets.edge },
      "STORMLOG_ADMIN_SECRET: must differ from STORMLOG_EDGE_SECRET",
    ],
    [
      "the peer secret reused for the edge",
      { STORMLOG_PEER_SECRET: secrets.edge },
      "STORMLOG_PEER_SECRET: must differ from STORMLOG_EDGE_SECRET",
    ],
    ["an admin port out of range", { STORMLOG_ADMIN_PORT: "65536" }, "STORMLOG_ADMIN_PORT"],
    [
      "the admin port on the main port",
      { STORMLOG_PORT: "8700", STORMLOG_ADMIN_PORT: "8700" },
      "STORMLOG_ADMIN_PORT: must differ from STORMLOG_PORT",
    ],
    ["a database URL that is not Postgres", { DATABASE_URL: "mysql://localhost/x" }, "DATABASE_URL"],
    ["an unknown log level", { STORMLOG_LOG_LEVEL: "loud" }, "STORMLOG_LOG_LEVEL"],
    ["a negative shutdown timeout", { STORMLOG_SHUTDOWN_TIMEOUT_MS: "-1" }, "STORMLOG_SHUTDOWN_TIMEOUT_MS"],
    ["a lifecycle interval of no time", { STORMLOG_LIFECYCLE_INTERVAL_MS: "0" }, "STORMLOG_LIFECYCLE_INTERVAL_MS"],
    ["no keyring", { STORMLOG_KEYRING: undefined }, "STORMLOG_KEYRING and STORMLOG_KEYRING_FILE"],
    ["two keyrings", { STORMLOG_KEYRING_FILE: "/tmp/k.json" }, "STORMLOG_KEYRING and STORMLOG_KEYRING_FILE"],
    ["a keyring that is not JSON", { STORMLOG_KEYRING: "k1=abc" }, "STORMLOG_KEYRING: not JSON"],
    ["a keyring with a short key", { STORMLOG_KEYRING: '{"active":"k1","keys":{"k1":"c2hvcnQ"}}' }, "keys.k1"],
    [
      "a keyring whose active key is missing",
      { STORMLOG_KEYRING: JSON.stringify({ ...keyring, active: "k2" }) },
      "STORMLOG_KEYRING: active",
    ],
  ])("refuses %s, naming the variable", (_name, change, named) => {
    const env = { ...minimal, ...change };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(named);
  });

  it("refuses the old shared STORMLOG_REGION_SECRET, naming the three secrets that replace it", () => {
    const { STORMLOG_EDGE_SECRET: _e, STORMLOG_PEER_SECRET: _p, STORMLOG_ADMIN_SECRET: _a, ...rest } = minimal;
    for (const env of [
      { ...rest, STORMLOG_REGION_SECRET: "s".repeat(32) },
      { ...minimal, STORMLOG_REGION_SECRET: "s".repeat(32) },
    ]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(
        /STORMLOG_REGION_SECRET is no longer read.*STORMLOG_EDGE_SECRET, STORMLOG_PEER_SECRET, STORMLOG_ADMIN_SECRET/,
      );
    }
  });

  it("never puts key material in its message", () => {
    const secretKey = generateKeyMaterial();
    const bad = JSON.stringify({ active: "k9", keys: { k1: secretKey } });
    expect(() => loadConfig({ ...minimal, STORMLOG_KEYRING: bad })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(secretKey) }),
    );
  });
});
