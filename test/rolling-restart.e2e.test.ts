/**
 * Rolling restart under load, as Kubernetes does it with `maxSurge: 1, maxUnavailable: 0`: three
 * processes of one region share one PostgreSQL database behind a round-robin proxy that routes
 * on `/readyz`. While signed uploads stream in, each process in turn gets a successor (started
 * and ready first), leaves the rotation, and after the manifests' preStop pause gets SIGTERM. No
 * upload may fail, no request may be cut mid-flight, every process must exit 0 within the drain
 * bound, and every acknowledged batch must read back.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionApp } from "../regional/admin/cluster.ts";
import { freePort } from "../scripts/ports.ts";
import { parseUpload } from "../shared/batch.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";
import type { LogPage } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";
import { signedFetch } from "../shared/signed-fetch.ts";
import { RoundRobinProxy } from "./round-robin-proxy.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");
const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const database = `stormlog_rolling_${Date.now()}`;
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString();
const keystoreUrl = Object.assign(new URL(adminUrl), { pathname: `/${database}_keys` }).toString();
const secrets = {
  edge: "rolling-restart-edge-secret-0123456789ab",
  peer: "rolling-restart-peer-secret-0123456789ab",
  admin: "rolling-restart-admin-secret-0123456789a",
};
const keyring = JSON.stringify({ active: "k1", keys: { k1: generateKeyMaterial() } });
const shutdownTimeoutMs = 5000;
/** deploy/k8s sleeps in preStop while endpoints forget the pod; shorter here, as the proxy is local. */
const preStopMs = 300;
const output: string[] = [];

type Process = { url: string; adminUrl: string; child: ChildProcess; exited: Promise<number | null> };
const processes: Process[] = [];
const proxy = new RoundRobinProxy(100);
let proxyUrl: string;
let appId: string;
let readKey: string;

async function startProcess(): Promise<Process> {
  const port = await freePort();
  const adminPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(path.join(repoRoot, "node_modules/.bin/node"), ["regional/server.ts"], {
    cwd: repoRoot,
    env: {
      STORMLOG_REGION: "eu-west",
      STORMLOG_HOST: "127.0.0.1",
      STORMLOG_PORT: String(port),
      STORMLOG_ADMIN_PORT: String(adminPort),
      DATABASE_URL: databaseUrl,
      STORMLOG_KEYSTORE_DATABASE_URL: keystoreUrl,
      STORMLOG_EDGE_SECRET: secrets.edge,
      STORMLOG_PEER_SECRET: secrets.peer,
      STORMLOG_ADMIN_SECRET: secrets.admin,
      STORMLOG_KEYRING: keyring,
      STORMLOG_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      STORMLOG_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) stream?.on("data", (chunk) => output.push(`[${port}] ${chunk}`));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`process on ${port} not ready\n${output.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proxy.add(url);
  return { url, adminUrl: `http://127.0.0.1:${adminPort}`, child, exited };
}

/** Signed as the edge signs, through the proxy; reads carry the app's read key. */
async function call(method: "GET" | "POST", pathAndQuery: string, body?: unknown): Promise<Response | null> {
  const sent = await signedFetch({
    signer: { role: "edge", secret: secrets.edge, audience: "eu-west" },
    baseUrl: proxyUrl,
    method,
    pathAndQuery,
    body: body === undefined ? undefined : JSON.stringify(body),
    appKey: method === "GET" ? readKey : undefined,
    timeoutMs: 15_000,
  });
  return sent.ok ? sent.value : null;
}

beforeAll(async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${database}`);
  await admin.unsafe(`CREATE DATABASE ${database}_keys`);
  await admin.end();
  proxyUrl = await proxy.listen();
  // The first applies the migrations, which the other two, started together, then find applied.
  processes.push(await startProcess());
  processes.push(...(await Promise.all([startProcess(), startProcess()])));
  // The processes share one database: registering through one admin listener is enough.
  const app = await provisionApp(
    {
      regions: [{ name: "eu-west", url: processes[0]?.adminUrl as string }],
      keySecret: "k".repeat(40),
      adminSecret: secrets.admin,
    },
    "rolling",
  );
  appId = app.id;
  readKey = app.readKey;
}, 120_000);

afterAll(async () => {
  for (const { child } of processes) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(processes.map((p) => p.exited));
  await proxy.close();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.unsafe(`DROP DATABASE IF EXISTS ${database}_keys WITH (FORCE)`);
  await admin.end();
});

describe("rolling restart of one region on PostgreSQL", () => {
  it("restarts three processes one by one under load with zero failed uploads and zero lost batches", async () => {
    const acknowledged: string[] = [];
    const failed: { batchId: string; status: number }[] = [];
    let running = true;
    const upload = async () => {
      while (running) {
        const batchId = `rolling-${crypto.randomUUID()}`;
        const batch = parseUpload({
          batchId,
          device: { id: "rolling-device" },
          logs: [{ ts: Date.now(), level: "info", text: batchId }],
        });
        const response = await call("POST", internalPaths.batches(appId), batch);
        if (response?.status === 202 || response?.status === 200) acknowledged.push(batchId);
        else failed.push({ batchId, status: response?.status ?? 0 });
        await response?.arrayBuffer();
      }
    };
    const workers = Array.from({ length: 4 }, upload);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const drains: { exitCode: number | null; ms: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const old = processes[i] as Process;
      processes.push(await startProcess());
      // Ready before the old one stops: capacity never drops (maxUnavailable: 0).
      while (!proxy.backends.find((b) => b.url === processes.at(-1)?.url)?.ready) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      proxy.terminate(old.url);
      await new Promise((resolve) => setTimeout(resolve, preStopMs));
      const stoppedAt = Date.now();
      old.child.kill("SIGTERM");
      const exitCode = await old.exited;
      drains.push({ exitCode, ms: Date.now() - stoppedAt });
      proxy.remove(old.url);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    running = false;
    await Promise.all(workers);

    console.log(
      `rolling restart: ${acknowledged.length} uploads acknowledged, ${failed.length} failed, ${proxy.retries} retried on another process, ${proxy.cut} cut; drains ${drains.map((d) => `${d.ms} ms`).join(", ")}`,
    );
    expect(failed, output.join("")).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(50);
    expect(proxy.cut).toBe(0);
    for (const drain of drains) {
      expect(drain.exitCode).toBe(0);
      expect(drain.ms).toBeLessThan(shutdownTimeoutMs + 2000);
    }

    const stored = new Set<string>();
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ device: "rolling-device", limit: "1000", ...(cursor ? { cursor } : {}) });
      const response = await call("GET", `${internalPaths.logs(appId)}?${query}`);
      expect(response?.status).toBe(200);
      const page = (await response?.json()) as LogPage;
      for (const log of page.logs) stored.add(log.batchId);
      cursor = page.nextCursor;
    } while (cursor);
    expect(acknowledged.filter((batchId) => !stored.has(batchId))).toEqual([]);
  });
});
