/**
 * `npm start` as a user runs it: scripts/start.ts as a child process (a temp folder, free ports),
 * driven by the real `npm run region` and `npm run admin` commands.
 *  - Under a steady stream of uploads through the edge, the region that took the last upload is
 *    killed (SIGKILL): the next 200 uploads all succeed, the supervisor restarts the region, and
 *    `admin verify` converges with every acknowledged batch in every region.
 *  - A region stopped (SIGTERM) under load: no upload fails, it stays down until `start`, then it
 *    is back and the regions converge again.
 *  - Ctrl-C (SIGINT) stops every process it started.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { demoBatches } from "../scripts/console-setup.ts";
import { processStatusSchema } from "../scripts/control.ts";
import type { LocalInfo } from "../scripts/local-system.ts";
import { freePort } from "../scripts/ports.ts";
import type { ProcessStatus } from "../scripts/supervisor.ts";
import { type SentUpload, uploadStream, waitFor } from "./harness.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");
let dir: string;
let env: NodeJS.ProcessEnv;
let start: ChildProcess;
let startExit: Promise<number | null>;
const output: string[] = [];
let info: LocalInfo;
/** Batches npm start puts in the demo app itself on a first start, before the test sends any. */
const seededBatches = demoBatches(0).length;
/** The pids `npm run region -- status` last reported, so nothing is left behind if a test fails. */
let lastPids: number[] = [];

/** npm start's environment for a system of its own in `folder`, on free ports. */
async function localEnv(folder: string): Promise<NodeJS.ProcessEnv> {
  return {
    ...process.env,
    STORMLOG_LOCAL_DIR: folder,
    STORMLOG_LOCAL_EDGE_PORT: String(await freePort()),
    STORMLOG_LOCAL_INSPECTOR_PORT: String(await freePort()),
    STORMLOG_LOCAL_REGION_PORTS: [await freePort(), await freePort(), await freePort()].join(","),
    STORMLOG_LOCAL_ADMIN_PORTS: [await freePort(), await freePort(), await freePort()].join(","),
    // For the regions (npm start passes its environment on to them): a restarted region is
    // caught up by its peers' outboxes within seconds, not after up to a minute of backoff.
    STORMLOG_OUTBOX_BACKOFF_MAX_MS: "1000",
    STORMLOG_ANTI_ENTROPY_INTERVAL_MS: "1000",
    STORMLOG_LOG_LEVEL: "warn",
  };
}

function spawnStart(startEnv: NodeJS.ProcessEnv): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ["scripts/start.ts"], {
    cwd: repoRoot,
    env: startEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { child, exit: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "stormlog-start-"));
  env = await localEnv(dir);
  ({ child: start, exit: startExit } = spawnStart(env));
  for (const stream of [start.stdout, start.stderr]) {
    stream?.setEncoding("utf8").on("data", (chunk: string) => output.push(...chunk.split("\n")));
  }
  await waitFor(
    "npm start prints that it is running",
    async () => {
      if (start.exitCode !== null) throw new Error(`npm start exited ${start.exitCode}:\n${output.join("\n")}`);
      return output.some((line) => line.includes("Press Ctrl-C to stop.")) ? true : null;
    },
    150_000,
  );
  info = JSON.parse(await readFile(path.join(dir, "local.json"), "utf8")) as LocalInfo;
  // A first start seeds the demo app for the console (scripts/console-setup.ts): those batches
  // are there before any this test sends.
  expect(output.join("\n")).toContain(`seeded ${seededBatches} demo batches`);
}, 180_000);

afterAll(async () => {
  if (start && start.exitCode === null) {
    // A test failed before Ctrl-C: stop it the same way, and make sure if that does not work.
    start.kill("SIGINT");
    const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), 30_000));
    if ((await Promise.race([startExit, timeout])) === "timeout") {
      for (const pid of lastPids) signalGroup(pid, "SIGKILL");
      start.kill("SIGKILL");
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `npm run <script> -- <args>` in the test system's folder. */
function npmRun(
  script: "region" | "admin",
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("npm", ["run", "--silent", script, "--", ...args], { cwd: repoRoot, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function statuses(): Promise<ProcessStatus[]> {
  const { code, stdout, stderr } = await npmRun("region", "status", "--json");
  expect(code, stderr).toBe(0);
  const { processes } = z.object({ processes: z.array(processStatusSchema) }).parse(JSON.parse(stdout));
  lastPids = processes.flatMap((process) => (process.pid === null ? [] : [process.pid]));
  return processes;
}

async function statusOf(name: string): Promise<ProcessStatus> {
  return (await statuses()).find((process) => process.name === name) as ProcessStatus;
}

type Verify = { regions: Record<string, { batches?: number }>; converged: boolean };

/** Waits until `admin verify` says every region holds the same batches, `batches` of them. */
async function converged(batches: number): Promise<Verify> {
  return waitFor(
    `every region holds the same ${batches} batches`,
    async () => {
      const { code, stdout } = await npmRun("admin", "verify", "--json");
      const result = JSON.parse(stdout || "{}") as Verify;
      const counts = Object.values(result.regions ?? {}).map((region) => region.batches);
      return code === 0 && result.converged && counts.every((count) => count === batches) ? result : null;
    },
    90_000,
  );
}

async function lastRegion(sent: SentUpload[]): Promise<string> {
  return waitFor(
    "uploads acknowledged by a region",
    async () => (sent.length >= 20 ? (sent.findLast((upload) => upload.region)?.region ?? null) : null),
    30_000,
  );
}

const acknowledged = new Set<string>();
function expectAllAcknowledged(sent: SentUpload[]): void {
  expect(
    sent.filter((upload) => upload.status !== 202 || upload.spooled),
    output.join("\n"),
  ).toEqual([]);
  for (const upload of sent) acknowledged.add(upload.batchId);
}

describe("npm start", () => {
  it("keeps its control channel to this user and runs once per folder", async () => {
    expect((await stat(path.join(dir, "control.json"))).mode & 0o777).toBe(0o600);
    const control = JSON.parse(await readFile(path.join(dir, "control.json"), "utf8")) as { url: string };
    const forged = await fetch(`${control.url}/v1/processes`, { headers: { authorization: "Bearer nope" } });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");

    const second = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ["scripts/start.ts"], { cwd: repoRoot, env }, (error, _stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stderr }),
      );
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`is already running in ${dir}`);

    const unknown = await npmRun("region", "kill", "mars");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no process named mars (known: eu-west, us-east, ap-south, edge)");
  });

  it("loses no upload when the region that took the last one is killed, restarts it, and converges", async () => {
    const stream = uploadStream({ info }, { concurrency: 4, deviceId: "start-kill-device" });
    const victim = await lastRegion(stream.sent);
    const before = await statusOf(victim);

    const killed = await npmRun("region", "kill", victim);
    expect(killed.code, killed.stderr).toBe(0);
    expect(killed.stdout).toMatch(new RegExp(`^${victim} +restarting .*last exit SIGKILL`));
    const killedMs = performance.now();
    await waitFor(
      "200 uploads after the kill",
      async () => (stream.sent.filter((upload) => upload.startedMs > killedMs).length >= 200 ? true : null),
      60_000,
    );
    const sent = await stream.stop();
    expectAllAcknowledged(sent);

    const after = await waitFor(
      "the supervisor restarts the killed region",
      async () => {
        const status = await statusOf(victim);
        return status.state === "up" ? status : null;
      },
      60_000,
    );
    expect(after.restarts).toBe(1);
    expect(after.pid).not.toBe(before.pid);
    const upAfterMs = performance.now() - killedMs;
    expect(output.join("\n")).toContain(`[supervisor] ${victim} exited (SIGKILL); restarting in 1 s`);
    await converged(seededBatches + acknowledged.size);
    console.log(
      JSON.stringify({
        figures: "npm start, kill",
        victim,
        uploads: sent.length,
        afterKill: sent.filter((upload) => upload.startedMs > killedMs).length,
        upAgainAfterMs: Math.round(upAfterMs),
        convergedAfterMs: Math.round(performance.now() - killedMs),
      }),
    );
  });

  it("loses no upload when a region is stopped under load, keeps it down until start, then converges", async () => {
    const stream = uploadStream({ info }, { concurrency: 4, deviceId: "start-stop-device" });
    const victim = await lastRegion(stream.sent);
    const url = info.regions.find((region) => region.name === victim)?.url as string;

    const stopStartedMs = performance.now();
    const stopped = await npmRun("region", "stop", victim);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(new RegExp(`^${victim} +stopped +restarts \\d+ +last exit code 0`));
    const stoppedMs = performance.now();
    await waitFor(
      "100 uploads after the stop",
      async () => (stream.sent.filter((upload) => upload.startedMs > stoppedMs).length >= 100 ? true : null),
      60_000,
    );
    // Longer than the first restart delay since the stop: a stopped region is not restarted. The
    // uploads above took part of it already.
    await new Promise((resolve) => setTimeout(resolve, stoppedMs + 3000 - performance.now()));
    expect(await statusOf(victim)).toMatchObject({ state: "stopped", pid: null });
    expect(await fetch(`${url}/healthz`).catch(() => null)).toBeNull();

    const startStartedMs = performance.now();
    const started = await npmRun("region", "start", victim);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(new RegExp(`^${victim} +up +pid \\d+`));
    const sent = await stream.stop();
    expectAllAcknowledged(sent);
    expect((await fetch(`${url}/healthz`)).ok).toBe(true);
    const startMs = performance.now() - startStartedMs;
    await converged(seededBatches + acknowledged.size);
    console.log(
      JSON.stringify({
        figures: "npm start, stop and start",
        victim,
        uploads: sent.length,
        whileStopped: sent.filter((upload) => upload.startedMs > stoppedMs && upload.startedMs < startStartedMs).length,
        stopCommandMs: Math.round(stoppedMs - stopStartedMs),
        startCommandMs: Math.round(startMs),
        convergedAfterStartMs: Math.round(performance.now() - startStartedMs),
      }),
    );
  });

  it("stops every process it started on Ctrl-C", async () => {
    const pids = (await statuses()).map((process) => process.pid as number);
    expect(pids.every((pid) => pid !== null)).toBe(true);
    start.kill("SIGINT");
    expect(await startExit).toBe(0);
    // Each child leads its own process group (wrangler's workerd is in the edge's).
    expect(pids.filter((pid) => groupAlive(pid))).toEqual([]);
    expect(await processesUsing(dir)).toEqual([]);
    expect(existsSync(path.join(dir, "control.json"))).toBe(false);
    const after = await npmRun("region", "status");
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`npm start is not running in ${dir}`);
  });
});

describe("npm start, stopped while it starts", () => {
  it("stops what it had started when its terminal closes (SIGHUP) during start-up", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "stormlog-start-hup-"));
    const { child, exit } = spawnStart(await localEnv(folder));
    try {
      // local.json is written once the regions are up, before the edge starts.
      await waitFor(
        "the regions are up",
        async () => (existsSync(path.join(folder, "local.json")) ? true : null),
        150_000,
      );
      expect((await processesUsing(folder)).length).toBeGreaterThan(0);
      child.kill("SIGHUP");
      expect(await exit).toBe(0);
      expect(await processesUsing(folder)).toEqual([]);
    } finally {
      for (const pid of await processesUsing(folder)) signalGroup(pid, "SIGKILL");
      child.kill("SIGKILL");
      await rm(folder, { recursive: true, force: true });
    }
  });
});

/** Processes whose command line or environment names `folder`: what a local system in it runs. */
async function processesUsing(folder: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const files = await Promise.all(
      ["cmdline", "environ"].map((file) => readFile(`/proc/${entry}/${file}`, "utf8").catch(() => "")),
    );
    if (files.some((text) => text.includes(folder))) pids.push(Number(entry));
  }
  return pids;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
