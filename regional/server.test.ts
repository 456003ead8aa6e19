// The real process: `node regional/server.ts` starts from the environment, migrates, serves (the
// main listener and the admin one), keeps its data across restarts, drains calls in flight on
// SIGTERM/SIGINT and exits 0, and refuses to start (exit 1) on a bad configuration.
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { utf8 } from "../shared/encoding.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";
import type { BatchReceipt, LogPage } from "../shared/read.ts";
import { adminPaths, internalPaths } from "../shared/regions.ts";
import { signedFetch } from "../shared/signed-fetch.ts";
import { type CallerRole, signRequest } from "../shared/signing.ts";
import { provisionApp } from "./admin/cluster.ts";
import { baseTs, makeBatch } from "./testing/fixtures.ts";
import { createTestDatabase, drivers, type TestDatabase, testAppId, testSecrets } from "./testing/harness.ts";

const serverFile = fileURLToPath(new URL("./server.ts", import.meta.url));
const keyring = JSON.stringify({ active: "k1", keys: { k1: generateKeyMaterial() } });

type Running = { child: ChildProcess; url: string; adminUrl: string; output: string[]; exited: Promise<number | null> };
const started: ChildProcess[] = [];

function env(database: TestDatabase | undefined, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? "",
    STORMLOG_REGION: "eu-west",
    STORMLOG_HOST: "127.0.0.1",
    STORMLOG_PORT: "0",
    STORMLOG_ADMIN_PORT: "0",
    STORMLOG_EDGE_SECRET: testSecrets.edge,
    STORMLOG_PEER_SECRET: testSecrets.peer,
    STORMLOG_ADMIN_SECRET: testSecrets.admin,
    STORMLOG_KEYRING: keyring,
    STORMLOG_SHUTDOWN_TIMEOUT_MS: "5000",
    ...(database?.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...(database?.keystore.databaseUrl ? { STORMLOG_KEYSTORE_DATABASE_URL: database.keystore.databaseUrl } : {}),
    ...(database ? { STORMLOG_KEYSTORE_DIR: database.keystore.dataDir } : {}),
    ...(database ? { STORMLOG_DATA_DIR: database.dataDir } : {}),
    ...extra,
  };
}

function launch(environment: Record<string, string>): Omit<Running, "url" | "adminUrl"> {
  const child = spawn(process.execPath, [serverFile], { env: environment, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  const output: string[] = [];
  // Whole lines only: a JSON log event may arrive split over two chunks.
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (line) => output.push(line));
  }
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output, exited };
}

async function start(environment: Record<string, string>): Promise<Running> {
  const running = launch(environment);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const line = running.output.find((text) => text.includes('"msg":"listening"'));
    if (line) return { ...running, ...(JSON.parse(line) as { url: string; adminUrl: string }) };
    if (running.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`region did not start:\n${running.output.join("\n")}`);
}

const messages = (running: Pick<Running, "output">) =>
  running.output.flatMap((line) => (line.startsWith("{") ? [(JSON.parse(line) as { msg: string }).msg] : []));

function call(
  running: Running,
  method: "GET" | "POST",
  pathAndQuery: string,
  options: { body?: unknown; appKey?: string; role?: CallerRole; baseUrl?: string } = {},
) {
  const role = options.role ?? "edge";
  return signedFetch({
    signer: { role, secret: testSecrets[role], audience: "eu-west" },
    baseUrl: options.baseUrl ?? running.url,
    method,
    pathAndQuery,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    appKey: options.appKey,
    timeoutMs: 5_000,
  });
}

/** The app of these tests, created through the process's admin listener as the admin CLI does. */
let readKey = "";
let appId = "";

/** Starts a signed upload and sends only the first half of its body. */
async function halfUpload(running: Running) {
  const path = internalPaths.batches(testAppId());
  const body = utf8(JSON.stringify(makeBatch({ lines: [{ ts: baseTs, text: "sent in two halves" }] })));
  const headers = await signRequest(
    { role: "edge", secret: testSecrets.edge, audience: "eu-west" },
    { method: "POST", pathAndQuery: path, body },
  );
  const req = request(`${running.url}${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json", "content-length": body.byteLength },
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
  });
  req.write(body.subarray(0, body.byteLength >> 1));
  const halves = { finish: () => req.end(body.subarray(body.byteLength >> 1)), hangUp: () => req.destroy(), response };
  // The call counts as in flight once the region has started reading it.
  for (let i = 0; i < 200; i++) {
    const health = (await (await fetch(`${running.url}/v1/health`)).json()) as { inFlight: number };
    if (health.inFlight === 1) return halves;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the upload never became in flight");
}

afterEach(() => {
  // A failed assertion must not leave a server behind.
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

describe.each(drivers)("regional server process on %s", (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("starts, migrates, serves, and exits 0 on SIGTERM", async () => {
    const running = await start(env(database));
    const health = await fetch(`${running.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ region: "eu-west", status: "up", database: { kind, ok: true } });
    const created = await provisionApp(
      {
        regions: [{ name: "eu-west", url: running.adminUrl }],
        keySecret: "k".repeat(40),
        adminSecret: testSecrets.admin,
      },
      "server test",
    );
    expect(created.outcomes.map((outcome) => outcome.status)).toEqual([200]);
    ({ id: appId, readKey } = created);
    // The admin routes are not on the main listener.
    const onMain = await call(running, "GET", adminPaths.apps, { role: "admin" });
    expect(onMain.ok && onMain.value.status).toBe(404);
    const onAdmin = await call(running, "GET", adminPaths.apps, { role: "admin", baseUrl: running.adminUrl });
    expect(onAdmin.ok && onAdmin.value.status).toBe(200);

    const batch = makeBatch({ lines: [{ ts: baseTs, text: "kept across restarts" }] });
    const upload = await call(running, "POST", internalPaths.batches(appId), { body: batch });
    if (!upload.ok) throw new Error(upload.error.message);
    expect(((await upload.value.json()) as BatchReceipt).accepted).toBe(1);

    running.child.kill("SIGTERM");
    expect(await running.exited).toBe(0);
    expect(messages(running)).toEqual(expect.arrayContaining(["listening", "request", "draining", "stopped"]));
  });

  it("keeps its data across a restart and exits 0 on SIGINT", async () => {
    const running = await start(env(database));
    const read = await call(running, "GET", internalPaths.logs(appId), { appKey: readKey });
    if (!read.ok) throw new Error(read.error.message);
    expect(((await read.value.json()) as LogPage).logs.map((line) => line.text)).toEqual(["kept across restarts"]);
    running.child.kill("SIGINT");
    expect(await running.exited).toBe(0);
  });

  it("lets a call in flight finish before it exits", async () => {
    const running = await start(env(database));
    const upload = await halfUpload(running);
    running.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(running.child.exitCode).toBeNull();
    upload.finish();
    expect((await upload.response).status).toBe(202);
    expect(await running.exited).toBe(0);
  });

  it("takes a caller hanging up mid-body as the caller's failure: nothing stored, no error, serving on", async () => {
    const running = await start(env(database));
    const upload = await halfUpload(running);
    upload.response.catch(() => undefined);
    upload.hangUp();
    type Logged = { level: number; msg: string; method?: string; status?: number };
    const logged = () =>
      running.output.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Logged);
    const answered = () => logged().find((line) => line.msg === "request" && line.method === "POST");
    for (let i = 0; i < 200 && !answered(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(answered()?.status).toBe(400);
    expect(logged().filter((line) => line.level >= 50)).toEqual([]);
    const read = await call(running, "GET", internalPaths.logs(appId), { appKey: readKey });
    if (!read.ok) throw new Error(read.error.message);
    expect(((await read.value.json()) as LogPage).logs.map((line) => line.text)).toEqual(["kept across restarts"]);
    running.child.kill("SIGTERM");
    expect(await running.exited).toBe(0);
  });

  it("cuts a call that outlasts the shutdown timeout, and still exits 0", async () => {
    const running = await start(env(database, { STORMLOG_SHUTDOWN_TIMEOUT_MS: "300" }));
    const upload = await halfUpload(running);
    upload.response.catch(() => undefined);
    const signalledMs = Date.now();
    running.child.kill("SIGTERM");
    expect(await running.exited).toBe(0);
    expect(Date.now() - signalledMs).toBeLessThan(5_000);
    expect(running.output.join("\n")).toContain("shutdown timeout");
  });
});

describe("regional server configuration errors", () => {
  it.each([
    ["a bad port", { STORMLOG_PORT: "http" }, "STORMLOG_PORT"],
    ["a short secret", { STORMLOG_EDGE_SECRET: "short" }, "STORMLOG_EDGE_SECRET"],
    [
      "only the old shared secret",
      {
        STORMLOG_EDGE_SECRET: "",
        STORMLOG_PEER_SECRET: "",
        STORMLOG_ADMIN_SECRET: "",
        STORMLOG_REGION_SECRET: "s".repeat(32),
      },
      "STORMLOG_REGION_SECRET is no longer read; each caller has its own secret now: set STORMLOG_EDGE_SECRET, STORMLOG_PEER_SECRET, STORMLOG_ADMIN_SECRET",
    ],
    [
      "an unreachable database",
      {
        DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
        STORMLOG_KEYSTORE_DATABASE_URL: "postgres://postgres@127.0.0.1:1/none_keys",
      },
      "cannot start region eu-west",
    ],
  ])("exits 1 on %s, saying what is wrong", async (_name, change, message) => {
    const running = launch(env(undefined, { STORMLOG_DATA_DIR: "/nonexistent/never-used", ...change }));
    expect(await running.exited).toBe(1);
    expect(running.output.join("\n")).toContain(message);
  });
});
