/**
 * The whole ingest path with real processes: SDK-shaped uploads through the edge on workerd
 * (wrangler dev) to regional workers on PGlite, read back through the edge, and apps and keys
 * managed with the admin CLI. A restart on the same folder is test/shutdown.e2e.test.ts's.
 */
import { spawnSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { provisionApp } from "../../regional/admin/cluster.ts";
import type { ErrorBody } from "../../shared/errors.ts";
import type { BatchReceipt, DeviceRecord, LogPage } from "../../shared/read.ts";
import { type JoinedSystem, joinSystem } from "./system.ts";

const marker = `marker-${crypto.randomUUID()}`;
let system: JoinedSystem;

beforeAll(async () => {
  system = await joinSystem("ingest");
});

function upload(body: unknown, key: string, init: { gzip?: boolean } = {}) {
  const json = JSON.stringify(body);
  return fetch(`${system.edgeUrl}/v1/batches`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      ...(init.gzip ? { "content-encoding": "gzip" } : {}),
    },
    body: init.gzip ? gzipSync(json) : json,
  });
}

function read(pathAndQuery: string, key: string) {
  return fetch(`${system.edgeUrl}${pathAndQuery}`, { headers: { authorization: `Bearer ${key}` } });
}

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

const batch = (batchId: string, text: string, ts: string) => ({
  batchId,
  device: { id: "e2e-device", model: "Pixel 9", os: "Android", appVersion: "1.2.3" },
  logs: [
    { ts, level: "info", tag: "e2e", text },
    { ts: Date.parse(ts) + 1, level: "error", text: `${text} failed`, attrs: { attempt: 2 } },
  ],
});

describe("ingest through the edge into a region and back", () => {
  it("accepts an upload, stores it in a region and reads it back in order", async () => {
    const { ingestKey, readKey } = system.app;
    const response = await upload(batch(crypto.randomUUID(), marker, "2026-05-01T10:00:00Z"), ingestKey);
    expect(response.status).toBe(202);
    const receipt = await json<BatchReceipt>(response);
    expect(receipt).toMatchObject({ accepted: 2, duplicate: false });
    expect(system.regions.map((region) => region.name)).toContain(receipt.region);
    // Acknowledged only once two regions hold it (the ack quorum).
    expect(receipt.regions.length).toBeGreaterThanOrEqual(2);
    expect(receipt.regions).toContain(receipt.region);
    expect(response.headers.get("x-stormlog-region")).toBe(receipt.region);

    const gzipped = await upload(batch(crypto.randomUUID(), "gzipped line", "2026-05-01T09:00:00Z"), ingestKey, {
      gzip: true,
    });
    expect(gzipped.status).toBe(202);

    const logs = await read("/v1/logs?device=e2e-device", readKey);
    expect(logs.status).toBe(200);
    const page = await json<LogPage>(logs);
    expect(page.integrityErrors).toEqual([]);
    expect(page.logs.map((line) => line.text)).toEqual([
      "gzipped line",
      "gzipped line failed",
      marker,
      `${marker} failed`,
    ]);
    expect(page.logs[2]).toMatchObject({
      deviceId: "e2e-device",
      level: "info",
      tag: "e2e",
      ts: "2026-05-01T10:00:00.000Z",
    });

    const errorsOnly = await json<LogPage>(read(`/v1/logs?level=error&q=${marker}`, readKey));
    expect(errorsOnly.logs.map((line) => line.text)).toEqual([`${marker} failed`]);

    const devices = await json<{ devices: DeviceRecord[] }>(read("/v1/devices", readKey));
    expect(devices.devices).toEqual([expect.objectContaining({ id: "e2e-device", appVersion: "1.2.3" })]);
  });

  it("answers a retried batch as a duplicate and a reused id with other content as a conflict", async () => {
    const { ingestKey } = system.app;
    const body = batch(crypto.randomUUID(), "once", "2026-05-02T10:00:00Z");
    expect((await upload(body, ingestKey)).status).toBe(202);
    const retry = await upload(body, ingestKey);
    expect(retry.status).toBe(202);
    expect(await json<BatchReceipt>(retry)).toMatchObject({ duplicate: true });
    const conflict = await upload({ ...body, logs: [{ ...body.logs[0], text: "other" }] }, ingestKey);
    expect(conflict.status).toBe(409);
    expect((await json<ErrorBody>(conflict)).error.code).toBe("BATCH_CONFLICT");
  });

  it("keeps keys to their purpose and apps apart", async () => {
    const { ingestKey, readKey } = system.app;
    expect((await read("/v1/logs", ingestKey)).status).toBe(403);
    expect((await upload(batch(crypto.randomUUID(), "x", "2026-05-03T10:00:00Z"), readKey)).status).toBe(403);
    const bad = await upload(
      batch(crypto.randomUUID(), "x", "2026-05-03T10:00:00Z"),
      `${ingestKey.slice(0, -1)}${ingestKey.endsWith("0") ? "1" : "0"}`,
    );
    expect(bad.status).toBe(401);
    expect((await json<ErrorBody>(bad)).error).toMatchObject({ code: "UNAUTHORIZED", requestId: expect.any(String) });

    const other = await provisionApp(system.cluster, "other");
    const otherLogs = await json<LogPage>(read("/v1/logs", other.readKey));
    expect(otherLogs.logs).toEqual([]);
    expect((await json<{ devices: DeviceRecord[] }>(read("/v1/devices", other.readKey))).devices).toEqual([]);
  });

  it("rejects bad input at the edge with a clear error", async () => {
    const { ingestKey } = system.app;
    const response = await upload({ batchId: "short", device: {}, logs: [] }, ingestKey);
    expect(response.status).toBe(400);
    const { error } = await json<ErrorBody>(response);
    expect(error.code).toBe("INVALID_BODY");
    expect(error.message).toContain("batchId");
  });

  it("manages apps and keys with the admin CLI", async () => {
    const cluster = system.cluster;
    const env = {
      ...process.env,
      STORMLOG_REGIONS: JSON.stringify(cluster.regions),
      STORMLOG_KEY_SECRET: cluster.keySecret,
      STORMLOG_ADMIN_SECRET: cluster.adminSecret,
    };
    const admin = (...args: string[]) =>
      spawnSync(process.execPath, ["regional/admin/cli.ts", ...args], { env, encoding: "utf8" });
    const created = admin("apps", "create", "cli-app", "--json");
    expect(created.status, created.stderr).toBe(0);
    const app = JSON.parse(created.stdout);
    expect(app.ingestKey).toMatch(/^sl_ingest_/);
    expect(app.manageKey).toMatch(/^sl_manage_/);

    const listed = admin("keys", "list", app.id, "--json");
    expect(listed.status, listed.stderr).toBe(0);
    const keys = JSON.parse(listed.stdout).keys;
    expect(keys.map((key: { kind: string }) => key.kind).sort()).toEqual(["ingest", "manage", "read"]);
    for (const key of [app.ingestKey, app.readKey, app.manageKey]) expect(listed.stdout).not.toContain(key);

    // keys create: one more key of a kind, registered everywhere, usable at once.
    const another = admin("keys", "create", app.id, "read", "--json");
    expect(another.status, another.stderr).toBe(0);
    const extra = JSON.parse(another.stdout);
    expect(extra).toMatchObject({ appId: app.id, kind: "read", key: expect.stringMatching(/^sl_read_/) });
    expect((await read("/v1/logs", extra.key)).status).toBe(200);

    expect(admin("keys", "revoke", app.ingestKey).status).toBe(0);
    const revoked = JSON.parse(admin("keys", "list", app.id, "--json").stdout).keys;
    expect(revoked.find((key: { kind: string }) => key.kind === "ingest").revokedAt).toEqual(expect.any(String));

    // A revoked read key reads nothing, at once: the region checks it itself, whatever the edge cached.
    expect((await read("/v1/logs", app.readKey)).status).toBe(200);
    expect(admin("keys", "revoke", app.readKey).status).toBe(0);
    const refused = await read("/v1/logs", app.readKey);
    expect(refused.status).toBe(401);
    expect((await json<ErrorBody>(refused)).error.code).toBe("UNAUTHORIZED");
    expect(admin("nonsense").status).toBe(2);

    // Every region ends up holding the same batches (the third copy may still be on its way).
    let verified = admin("verify", "--json");
    for (let attempt = 0; attempt < 50 && verified.status !== 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      verified = admin("verify", "--json");
    }
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    const verification = JSON.parse(verified.stdout);
    expect(verification.converged).toBe(true);
    const counts = Object.values(verification.regions).map((region) => (region as { batches: number }).batches);
    expect(counts).toHaveLength(3);
    expect(new Set(counts).size).toBe(1);
    expect(counts[0]).toBeGreaterThanOrEqual(3);
  });
});
