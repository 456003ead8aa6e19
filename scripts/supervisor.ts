/**
 * Keeps `npm start`'s processes running, as Kubernetes keeps a pod's containers: a region (or the
 * edge) that exits is restarted after a delay that doubles on each crash in a row (1 s up to 30 s,
 * CrashLoopBackOff-style) and starts again from 1 s once the process has stayed up a minute. The
 * other processes carry on meanwhile. `stop` takes one down on purpose and keeps it down until
 * `start`; `kill` crashes one (SIGKILL) to watch it come back. scripts/control.ts serves these
 * commands to `npm run region`.
 */
import { setTimeout as delay } from "node:timers/promises";
import { err, ok, type Result } from "../shared/result.ts";
import type { LocalSystem } from "./local-system.ts";

export type ProcessState = "up" | "starting" | "restarting" | "stopped";

export type ProcessStatus = {
  name: string;
  state: ProcessState;
  pid: number | null;
  /** Restarts after a crash since `npm start` began (not counting `start` after `stop`). */
  restarts: number;
  /** While restarting: how long until the next attempt (null while an attempt runs). */
  nextAttemptInMs: number | null;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
};

export type CommandError = {
  kind: "unknown_process" | "not_up" | "not_stopped" | "start_failed";
  message: string;
};

/** The part of LocalSystem the supervisor drives; tests stand in for it. */
export type Supervised = Pick<
  LocalSystem,
  "processNames" | "pid" | "startProcess" | "stopRegion" | "signalRegion" | "onUnexpectedExit"
>;

export const backoff = { initialMs: 1000, maxMs: 30_000, resetAfterUpMs: 60_000 };
const killWaitMs = 10_000;

/** The delay before restarting a process that just exited, given the previous delay and how long it was up. */
export function restartDelayMs(previousMs: number | null, upForMs: number): number {
  if (previousMs === null || upForMs >= backoff.resetAfterUpMs) return backoff.initialMs;
  return Math.min(previousMs * 2, backoff.maxMs);
}

type Entry = {
  state: ProcessState;
  restarts: number;
  delayMs: number | null;
  upSinceMs: number;
  nextAttemptAtMs: number | null;
  timer: NodeJS.Timeout | null;
  lastExit: ProcessStatus["lastExit"];
  /** Resolves a pending `kill` once the exit is seen. */
  onExit: (() => void) | null;
};

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private closed = false;
  private readonly system: Supervised;
  private readonly log: (line: string) => void;

  constructor(system: Supervised, log: (line: string) => void) {
    this.system = system;
    this.log = log;
    for (const name of system.processNames) {
      this.entries.set(name, {
        state: "up",
        restarts: 0,
        delayMs: null,
        upSinceMs: Date.now(),
        nextAttemptAtMs: null,
        timer: null,
        lastExit: null,
        onExit: null,
      });
    }
    system.onUnexpectedExit = (name, code, signal) => this.exited(name, code, signal);
  }

  status(): ProcessStatus[] {
    return [...this.entries.keys()].map((name) => this.statusOf(name));
  }

  /** SIGKILL, as a crash would: answers once the exit is seen; the supervisor then restarts it. */
  async kill(name: string): Promise<Result<ProcessStatus, CommandError>> {
    const entry = this.entries.get(name);
    if (!entry) return err(unknown(name, this.entries.keys()));
    if (entry.state !== "up") return err(notRunning(name, entry.state, "only a process that is up can be killed"));
    const exited = new Promise<void>((resolve) => {
      entry.onExit = resolve;
    });
    this.system.signalRegion(name, "SIGKILL");
    // SIGKILL cannot be caught; the bound only keeps a caller from hanging if the exit is never
    // reported (the system shutting down at that moment).
    await Promise.race([exited, delay(killWaitMs)]);
    return ok(this.statusOf(name));
  }

  /** SIGTERM (the process drains and exits), then leaves it down until `start`. */
  async stop(name: string): Promise<Result<ProcessStatus, CommandError>> {
    const entry = this.entries.get(name);
    if (!entry) return err(unknown(name, this.entries.keys()));
    if (entry.state === "stopped" || entry.state === "starting") {
      return err(notRunning(name, entry.state, "only a process that is up or restarting can be stopped"));
    }
    // While restarting, stopping also cancels the next attempt (or ends the one that runs).
    this.cancelAttempt(entry);
    entry.state = "stopped";
    const running = this.system.pid(name) !== null;
    const code = await this.system.stopRegion(name, "SIGTERM");
    // stopRegion reports the exit code only: null when a signal ended it (SIGTERM unhandled, or
    // the SIGKILL that follows a drain that took too long).
    if (running) entry.lastExit = { code, signal: null, at: new Date().toISOString() };
    this.log(
      `${name} stopped${running ? ` (exit code ${code})` : ""}; it stays down until \`npm run region -- start ${name}\``,
    );
    return ok(this.statusOf(name));
  }

  /** Starts a stopped process and answers once it is healthy. */
  async start(name: string): Promise<Result<ProcessStatus, CommandError>> {
    const entry = this.entries.get(name);
    if (!entry) return err(unknown(name, this.entries.keys()));
    if (entry.state !== "stopped") {
      return err({ kind: "not_stopped", message: `${name} is ${entry.state}: only a stopped process can be started` });
    }
    entry.state = "starting";
    this.log(`starting ${name}`);
    try {
      await this.system.startProcess(name);
    } catch (error) {
      if (entry.state === "starting") entry.state = "stopped";
      return err({ kind: "start_failed", message: `${name} did not start: ${messageOf(error)}` });
    }
    this.markUp(name, entry);
    return ok(this.statusOf(name));
  }

  /** No more restarts: `npm start` is shutting down. */
  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) this.cancelAttempt(entry);
  }

  private exited(name: string, code: number | null, signal: NodeJS.Signals | null): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    entry.lastExit = { code, signal, at: new Date().toISOString() };
    entry.onExit?.();
    entry.onExit = null;
    // An exit during a start attempt is that attempt's failure; it schedules the next one.
    if (this.closed || entry.state !== "up") return;
    entry.state = "restarting";
    entry.delayMs = restartDelayMs(entry.delayMs, Date.now() - entry.upSinceMs);
    this.log(`${name} exited (${signal ?? `code ${code}`}); restarting in ${seconds(entry.delayMs)}`);
    this.schedule(name, entry);
  }

  private schedule(name: string, entry: Entry): void {
    const delayMs = entry.delayMs ?? backoff.initialMs;
    entry.nextAttemptAtMs = Date.now() + delayMs;
    entry.timer = setTimeout(() => void this.attempt(name, entry), delayMs);
  }

  private async attempt(name: string, entry: Entry): Promise<void> {
    entry.timer = null;
    entry.nextAttemptAtMs = null;
    entry.restarts += 1;
    try {
      await this.system.startProcess(name);
    } catch (error) {
      if (this.closed || entry.state !== "restarting") return;
      entry.delayMs = Math.min((entry.delayMs ?? backoff.initialMs) * 2, backoff.maxMs);
      this.log(`${name} did not come back (${messageOf(error)}); next try in ${seconds(entry.delayMs)}`);
      this.schedule(name, entry);
      return;
    }
    // Stopped (or shut down) while it was starting: whoever did that has taken it down again.
    if (this.closed || entry.state !== "restarting") return;
    this.markUp(name, entry);
  }

  private markUp(name: string, entry: Entry): void {
    entry.state = "up";
    entry.upSinceMs = Date.now();
    this.log(`${name} is up (pid ${this.system.pid(name)})`);
  }

  private cancelAttempt(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.nextAttemptAtMs = null;
  }

  private statusOf(name: string): ProcessStatus {
    const entry = this.entries.get(name) as Entry;
    return {
      name,
      state: entry.state,
      pid: entry.state === "stopped" ? null : this.system.pid(name),
      restarts: entry.restarts,
      nextAttemptInMs: entry.nextAttemptAtMs === null ? null : Math.max(0, entry.nextAttemptAtMs - Date.now()),
      lastExit: entry.lastExit,
    };
  }
}

function unknown(name: string, names: Iterable<string>): CommandError {
  return { kind: "unknown_process", message: `no process named ${name} (known: ${[...names].join(", ")})` };
}

function notRunning(name: string, state: ProcessState, why: string): CommandError {
  return { kind: "not_up", message: `${name} is ${state}: ${why}` };
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
