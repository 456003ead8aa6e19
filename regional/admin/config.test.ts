// Where the admin CLI finds the cluster: the environment (admin URLs and the admin secret), or the
// local system's files; the retired shared secret is refused with what replaced it.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCluster } from "./config.ts";

const keySecret = "k".repeat(40);
const adminSecret = "a".repeat(40);
const regions = [{ name: "eu-west", url: "http://127.0.0.1:8711" }];

describe("loadCluster", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "stormlog-admin-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the regions' admin URLs and the admin secret from the environment", () => {
    const env = {
      STORMLOG_REGIONS: JSON.stringify(regions),
      STORMLOG_KEY_SECRET: keySecret,
      STORMLOG_ADMIN_SECRET: adminSecret,
    };
    expect(loadCluster(env, dir)).toEqual({ regions, keySecret, adminSecret });
    expect(() => loadCluster({ ...env, STORMLOG_ADMIN_SECRET: "short" }, dir)).toThrow(/^STORMLOG_ADMIN_SECRET: /);
  });

  it("refuses the retired STORMLOG_REGION_SECRET, naming STORMLOG_ADMIN_SECRET", () => {
    const env = {
      STORMLOG_REGIONS: JSON.stringify(regions),
      STORMLOG_KEY_SECRET: keySecret,
      STORMLOG_REGION_SECRET: adminSecret,
    };
    expect(() => loadCluster(env, dir)).toThrow(/STORMLOG_REGION_SECRET is no longer read.*STORMLOG_ADMIN_SECRET/);
  });

  it("finds the local system's admin listeners, and says so when its files predate them", async () => {
    const local = { regions: [{ name: "eu-west", url: "http://127.0.0.1:8701", adminUrl: "http://127.0.0.1:8711" }] };
    await writeFile(path.join(dir, "local.json"), JSON.stringify(local));
    await writeFile(
      path.join(dir, "secrets.json"),
      JSON.stringify({ keySecret, adminSecret, edgeSecret: "e", peerSecret: "p" }),
    );
    expect(loadCluster({}, dir)).toEqual({ regions, keySecret, adminSecret });

    await writeFile(path.join(dir, "secrets.json"), JSON.stringify({ keySecret, regionSecret: "r".repeat(40) }));
    expect(() => loadCluster({}, dir)).toThrow(/predates admin listeners: run `npm start` once/);
    expect(() => loadCluster({}, path.join(dir, "nothing-here"))).toThrow(/no local system/);
  });
});
