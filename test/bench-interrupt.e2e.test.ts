/**
 * `npm run chaos` interrupted as a user interrupts it: Ctrl-C reaches the bench alone (the system
 * it started runs detached, each process leading its own group), and the bench stops that system
 * before it exits 130: no region, wrangler or workerd of it keeps running, whether the signal
 * comes while the system is starting or once faults are under way.
 */
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "..");

type Proc = { pid: number; group: number; mentions: string };

/** Every live process: its pid, its process group, and its command line and environment. */
async function processes(): Promise<Proc[]> {
  const found: Proc[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const read = (file: string) => readFile(`/proc/${entry}/${file}`, "latin1").catch(() => "");
    const [stat, cmdline, environ] = await Promise.all([read("stat"), read("cmdline"), read("environ")]);
    // stat: "pid (comm) state ppid pgrp …"; comm may hold spaces, so read after its ")".
    const group = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (stat) found.push({ pid: Number(entry), group, mentions: cmdline + environ });
  }
  return found;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 60_000) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function interruptChaos(when: "starting" | "faulting") {
  const bench = spawn(process.execPath, ["bench/chaos.ts", "--duration", "60"], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  for (const stream of [bench.stdout, bench.stderr]) stream.on("data", (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    bench.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const dir = await waitFor("the bench's folder", () => / in (\/\S+stormlog-chaos-\S+)/.exec(output)?.[1]);
  // The groups its system's processes lead: the regions (their data folders are in `dir`) and
  // wrangler (it persists there), each with what it started (workerd, esbuild).
  const groups = new Set<number>();
  const started = async () => {
    for (const proc of await processes()) if (proc.mentions.includes(dir)) groups.add(proc.group);
  };
  await waitFor(when, async () => {
    await started();
    return (when === "starting" ? groups.size > 0 : output.includes("fault:")) || undefined;
  });
  await started();
  bench.kill("SIGINT");
  expect(await exited).toEqual({ code: 130, signal: null });
  const left = (await processes()).filter((proc) => groups.has(proc.group) || proc.mentions.includes(dir));
  expect(left.map((proc) => proc.mentions.replaceAll("\0", " ").slice(0, 200))).toEqual([]);
  expect(groups.size).toBeGreaterThan(0);
}

describe("an interrupted chaos run", () => {
  it("stops the system it was starting", () => interruptChaos("starting"));
  it("stops the system under faults", () => interruptChaos("faulting"));
});
