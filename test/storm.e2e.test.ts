/**
 * The storm, end to end: an app logs with the Stormlog SDK while every region is down and the
 * edge has no spool, so every upload is refused with 503; the app's process ends and starts again;
 * the regions come back. Every line must then be readable exactly once, except lines the device
 * evicted to stay under its queue cap, and every one of those must be counted by a gap marker.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gapTag } from "../sdk/queue.ts";
import type { LogPage, LogRecord } from "../shared/read.ts";
import { startTestSystem, type TestSystem } from "./harness.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");
let t: TestSystem;

/** The repo's wrangler.toml without the spool's queue and bucket: the edge can only answer 503. */
async function wranglerWithoutSpool(dir: string): Promise<string> {
  const lines = (await readFile(path.join(repoRoot, "wrangler.toml"), "utf8")).split("\n");
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (line.startsWith("[")) skipping = /^\[\[(queues\.|r2_buckets)/.test(line);
    // Paths in the config are relative to it: point them back into the repo (the Worker's entry,
    // the console's assets).
    if (!skipping) {
      kept.push(
        line.replace(
          /^(main|directory) = "(.+)"$/,
          (_, key, relative) => `${key} = "${path.join(repoRoot, relative)}"`,
        ),
      );
    }
  }
  const file = path.join(dir, "wrangler.no-spool.toml");
  await writeFile(file, kept.join("\n"));
  return file;
}

type AppReport = { deviceId: string; logged: Record<string, number>; pending: number; rejections: unknown[] };

function runApp(queueDir: string, phase: string, lines: number): Promise<AppReport> {
  const args = [
    path.join(import.meta.dirname, "fixtures/storm-app.ts"),
    queueDir,
    t.system.info.edgeUrl,
    t.system.info.app.ingestKey,
    phase,
    String(lines),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`storm app (${phase}) exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as AppReport);
    });
  });
}

async function readAll(deviceId: string): Promise<LogRecord[]> {
  const lines: LogRecord[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ device: deviceId, limit: "1000", ...(cursor ? { cursor } : {}) });
    const response = await fetch(`${t.system.info.edgeUrl}/v1/logs?${query}`, {
      headers: { authorization: `Bearer ${t.system.info.app.readKey}` },
    });
    expect(response.status).toBe(200);
    const page = (await response.json()) as LogPage;
    expect(page.integrityErrors).toEqual([]);
    lines.push(...page.logs);
    cursor = page.nextCursor;
  } while (cursor);
  return lines;
}

beforeAll(async () => {
  const configDir = await mkdtemp(path.join(tmpdir(), "stormlog-storm-config-"));
  t = await startTestSystem({ wranglerConfig: await wranglerWithoutSpool(configDir) });
});

afterAll(async () => {
  await t?.system.stop();
});

describe("the storm", () => {
  it("delivers every line exactly once after an outage and a restart, and accounts for every eviction", async () => {
    const queueDir = await mkdtemp(path.join(tmpdir(), "stormlog-storm-app-"));
    const regions = t.system.info.regions.map((region) => region.name);
    await Promise.all(regions.map((name) => t.system.stopRegion(name)));

    const outage = await runApp(queueDir, "outage", 400);
    expect(outage.pending).toBeGreaterThan(0);

    await Promise.all(regions.map((name) => t.system.startRegion(name)));
    const recovery = await runApp(queueDir, "recovery", 30);
    expect(recovery).toMatchObject({ deviceId: outage.deviceId, pending: 0, rejections: [] });

    const logged: Record<string, number> = {};
    for (const report of [outage, recovery]) {
      for (const [level, count] of Object.entries(report.logged)) logged[level] = (logged[level] ?? 0) + count;
    }
    const total = Object.values(logged).reduce((sum, count) => sum + count, 0);

    // Reads may be served by any region; give replication a moment to converge.
    let lines: LogRecord[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      lines = await readAll(outage.deviceId);
      const gaps = lines.filter((line) => line.tag === gapTag);
      const dropped = gaps.reduce((sum, gap) => sum + droppedIn(gap), 0);
      if (lines.length - gaps.length + dropped >= total || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    const storm = lines.filter((line) => line.tag === "storm");
    const texts = storm.map((line) => line.text.split(" ")[0]);
    expect(new Set(texts).size, "no line is stored twice").toBe(texts.length);

    const gaps = lines.filter((line) => line.tag === gapTag);
    expect(gaps.length, "the outage overflowed the queue cap").toBeGreaterThan(0);
    const droppedByLevel: Record<string, number> = {};
    for (const gap of gaps) {
      const info = gap.attrs?.[gapTag] as { dropped: Record<string, number> };
      for (const [level, count] of Object.entries(info.dropped)) {
        droppedByLevel[level] = (droppedByLevel[level] ?? 0) + count;
      }
    }
    for (const [level, count] of Object.entries(logged)) {
      const arrived = storm.filter((line) => line.level === level).length;
      expect(arrived + (droppedByLevel[level] ?? 0), `${level}: arrived + dropped = logged`).toBe(count);
    }
    // The cap gave up trace and debug before anything more severe.
    expect(droppedByLevel.error ?? 0).toBe(0);
    expect(droppedByLevel.fatal ?? 0).toBe(0);
    expect(droppedByLevel.trace).toBeGreaterThan(0);
    // Every error and fatal logged after the restart arrived too (its trace and debug lines may
    // have met a queue still full from the outage: they are in the counts above).
    const severe = (line: LogRecord) => line.level === "error" || line.level === "fatal";
    const recovered = storm.filter((line) => line.text.startsWith("storm-recovery-") && severe(line));
    expect(recovered).toHaveLength((recovery.logged.error ?? 0) + (recovery.logged.fatal ?? 0));
  });
});

function droppedIn(gap: LogRecord): number {
  const info = gap.attrs?.[gapTag] as { dropped: Record<string, number> } | undefined;
  return Object.values(info?.dropped ?? {}).reduce((sum, count) => sum + count, 0);
}
