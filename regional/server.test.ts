// The real process: `node regional/server.ts` starts from the environment, migrates, serves, keeps
// its data across restarts, drains calls in flight on SIGTERM/SIGINT and exits 0, and refuses to
// start (exit 1) on a bad configuration.
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { utf8 } from "../shared/encoding.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";
import type { BatchReceipt, LogPage } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";
import { signedFetch } from "../shared/signed-fetch.ts";
import { signRequest } from "../shared/signing.ts";
import { baseTs, makeBatch } from "./testing/fixtures.ts";
import { createTestDatabase, drivers, type TestDatabase, testAppId, testSecret } from "./testing/harness.ts";

const serverFile = fileURLToPath(new URL("./server.ts", import.meta.url));
const keyring = JSON.stringify({ active: "k1", keys: { k1: generateKeyMaterial() } });

type Running = { child: ChildProcess; url: string; output: string[]; exited: Promise<number | null> };
const started: ChildProcess[] = [];

function env(database: TestDatabase | undefined, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? "",
    STORMLOG_REGION: "eu-west",
    STORMLOG_HOST: "127.0.0.1",
    STORMLOG_PORT: "0",
    STORMLOG_REGION_SECRET: testSecret,
    STORMLOG_KEYRING: keyring,
    STORMLOG_SHUTDOWN_TIMEOUT_MS: "5000",
    ...(database?.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...(database ? { STORMLOG_DATA_DIR: database.dataDir } : {}),
    ...extra,
  };
}

function launch(environment: Record<string, string>): Omit<Running, "url"> {
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
    if (line) return { ...running, url: (JSON.parse(line) as { url: string }).url };
    if (running.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`region did not start:\n${running.output.join("\n")}`);
}

const messages = (running: Pick<Running, "output">) =>
  running.output.flatMap((line) => (line.startsWith("{") ? [(JSON.parse(line) as { msg: string }).msg] : []));

function call(running: Running, method: "GET" | "POST", pathAndQuery: string, body?: unknown) {
  return signedFetch({
    secret: testSecret,
    baseUrl: running.url,
    method,
    pathAndQuery,
    body: body === undefined ? undefined : JSON.stringify(body),
    timeoutMs: 5_000,
  });
}

/** Starts a signed upload and sends only the first half of its body. */
async function halfUpload(running: Running) {
  const path = internalPaths.batches(testAppId());
  const body = utf8(JSON.stringify(makeBatch({ lines: [{ ts: baseTs, text: "sent in two halves" }] })));
  const headers = await signRequest(testSecret, { method: "POST", pathAndQuery: path, body });
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
  const halves = { finish: () => req.end(body.subarray(body.byteLength >> 1)), response };
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
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "kept across restarts" }] });
    const upload = await call(running, "POST", internalPaths.batches("0123456789abcdef"), batch);
    if (!upload.ok) throw new Error(upload.error.message);
    expect(((await upload.value.json()) as BatchReceipt).accepted).toBe(1);

    running.child.kill("SIGTERM");
    expect(await running.exited).toBe(0);
    expect(messages(running)).toEqual(expect.arrayContaining(["listening", "request", "draining", "stopped"]));
  });

  it("keeps its data across a restart and exits 0 on SIGINT", async () => {
    const running = await start(env(database));
    const read = await call(running, "GET", internalPaths.logs("0123456789abcdef"));
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
    ["a short secret", { STORMLOG_REGION_SECRET: "short" }, "STORMLOG_REGION_SECRET"],
    [
      "an unreachable database",
      { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" },
      "cannot start region eu-west",
    ],
  ])("exits 1 on %s, saying what is wrong", async (_name, change, message) => {
    const running = launch(env(undefined, { STORMLOG_DATA_DIR: "/nonexistent/never-used", ...change }));
    expect(await running.exited).toBe(1);
    expect(running.output.join("\n")).toContain(message);
  });
});
