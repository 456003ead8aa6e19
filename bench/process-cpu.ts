/**
 * CPU time of processes this machine runs, from their own counters in /proc (utime + stime of
 * `/proc/<pid>/stat`), for benches that measure a process they did not start in-process: workerd
 * under `wrangler dev`, a region without `/metrics`, the PostgreSQL backends serving a bench's
 * databases. Linux only; a process that exits between two readings takes its time with it.
 */
import { readdirSync, readFileSync } from "node:fs";

/** getconf CLK_TCK on Linux. */
const clockTicksPerSecond = 100;

export type ProcessCpu = { pid: number; name: string; group: number; cpuSeconds: number };

/** Every process's name, process group and CPU seconds so far. */
export function processCpu(): ProcessCpu[] {
  const found: ProcessCpu[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // The name is in parentheses and may hold spaces; the fields after it are space-separated.
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the name: state(0) ppid(1) pgrp(2) … utime(11) stime(12).
    const ticks = Number(fields[11]) + Number(fields[12]);
    found.push({ pid: Number(entry), name, group: Number(fields[2]), cpuSeconds: ticks / clockTicksPerSecond });
  }
  return found;
}

/**
 * CPU seconds of the processes in process group `group` (a child started `detached` leads its
 * own), split by `tier`, which names each process's share (workerd apart from wrangler's Node).
 * @example groupCpuSeconds(processCpu(), edgePid, (name) => (name === "workerd" ? "workerd" : "wrangler"))
 */
export function groupCpuSeconds(
  processes: ProcessCpu[],
  group: number,
  tier: (name: string) => string = () => "all",
): Record<string, number> {
  const seconds: Record<string, number> = {};
  for (const process of processes) {
    if (process.group !== group) continue;
    const key = tier(process.name);
    seconds[key] = (seconds[key] ?? 0) + process.cpuSeconds;
  }
  return seconds;
}

/**
 * CPU seconds of the PostgreSQL backends connected to one of `databases` (a backend's command
 * line names its database: "postgres: 15/main: postgres <database> 127.0.0.1(5432) idle"). The
 * server's shared processes (WAL writer, checkpointer) serve every database and are left out.
 */
export function postgresBackendCpuSeconds(processes: ProcessCpu[], databases: string[]): number {
  let seconds = 0;
  for (const process of processes) {
    if (process.name !== "postgres") continue;
    let words: string[];
    try {
      words = readFileSync(`/proc/${process.pid}/cmdline`, "utf8").replaceAll("\0", " ").split(/\s+/);
    } catch {
      continue;
    }
    if (words.some((word) => databases.includes(word))) seconds += process.cpuSeconds;
  }
  return seconds;
}
