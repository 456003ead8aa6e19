// Configuration from the environment: defaults, and a refusal that names the bad variable.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeyMaterial } from "../shared/envelope.ts";
import { ConfigError, loadConfig, replicationDefaults } from "./config.ts";

const keyring = { active: "k1", keys: { k1: generateKeyMaterial() } };
const minimal = {
  STORMLOG_REGION: "eu-west",
  STORMLOG_REGION_SECRET: "s".repeat(32),
  STORMLOG_KEYRING: JSON.stringify(keyring),
};

describe("loadConfig", () => {
  it("fills in defaults", () => {
    expect(loadConfig(minimal)).toEqual({
      region: "eu-west",
      host: "0.0.0.0",
      port: 8700,
      databaseUrl: undefined,
      dataDir: ".stormlog/data/eu-west",
      regionSecret: "s".repeat(32),
      keyring,
      logLevel: "info",
      shutdownTimeoutMs: 10_000,
      replication: { ...replicationDefaults, peers: [], ackQuorum: 1 },
    });
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
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/stormlog",
      STORMLOG_DATA_DIR: "/var/lib/stormlog",
      STORMLOG_LOG_LEVEL: "warn",
      STORMLOG_SHUTDOWN_TIMEOUT_MS: "2500",
    });
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8702,
      databaseUrl: "postgres://postgres@127.0.0.1:5432/stormlog",
      dataDir: "/var/lib/stormlog",
      logLevel: "warn",
      shutdownTimeoutMs: 2500,
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
    ["a short secret", { STORMLOG_REGION_SECRET: "short" }, "STORMLOG_REGION_SECRET"],
    ["a missing secret", { STORMLOG_REGION_SECRET: undefined }, "STORMLOG_REGION_SECRET"],
    ["a database URL that is not Postgres", { DATABASE_URL: "mysql://localhost/x" }, "DATABASE_URL"],
    ["an unknown log level", { STORMLOG_LOG_LEVEL: "loud" }, "STORMLOG_LOG_LEVEL"],
    ["a negative shutdown timeout", { STORMLOG_SHUTDOWN_TIMEOUT_MS: "-1" }, "STORMLOG_SHUTDOWN_TIMEOUT_MS"],
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

  it("never puts key material in its message", () => {
    const secretKey = generateKeyMaterial();
    const bad = JSON.stringify({ active: "k9", keys: { k1: secretKey } });
    expect(() => loadConfig({ ...minimal, STORMLOG_KEYRING: bad })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(secretKey) }),
    );
  });
});
