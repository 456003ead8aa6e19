// The supervisor's decisions (when to restart, what a command may do) against a stand-in for
// LocalSystem and fake timers; test/start.e2e.test.ts drives the real processes.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Supervised, Supervisor } from "./supervisor.ts";

/** Processes that start at once (or fail to, when told) and crash when the test says. */
class StandIn implements Supervised {
  readonly processNames = ["eu-west", "us-east", "edge"];
  onUnexpectedExit: Supervised["onUnexpectedExit"] = () => {};
  readonly starts: string[] = [];
  readonly failures = new Map<string, number>();
  private readonly pids = new Map<string, number | null>(this.processNames.map((name, index) => [name, 100 + index]));
  private nextPid = 200;

  pid(name: string): number | null {
    return this.pids.get(name) ?? null;
  }

  async startProcess(name: string): Promise<void> {
    this.starts.push(name);
    const failures = this.failures.get(name) ?? 0;
    if (failures > 0) {
      this.failures.set(name, failures - 1);
      throw new Error(`${name} exited (code 1) before it became healthy`);
    }
    this.pids.set(name, this.nextPid++);
  }

  async stopRegion(name: string): Promise<number | null> {
    const running = this.pid(name) !== null;
    this.pids.set(name, null);
    return running ? 0 : null;
  }

  signalRegion(name: string, signal: NodeJS.Signals): void {
    if (signal === "SIGKILL") setTimeout(() => this.crash(name, null, "SIGKILL"), 5);
  }

  crash(name: string, code: number | null = 1, signal: NodeJS.Signals | null = null): void {
    this.pids.set(name, null);
    this.onUnexpectedExit(name, code, signal);
  }
}

let system: StandIn;
let supervisor: Supervisor;
let log: string[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  system = new StandIn();
  log = [];
  supervisor = new Supervisor(system, (line) => log.push(line));
});

afterEach(() => {
  supervisor.close();
  vi.useRealTimers();
});

const state = (name: string) => supervisor.status().find((status) => status.name === name);

describe("restarts", () => {
  it("restarts a crashed process after 1 s, doubling while it keeps crashing, up to 30 s", async () => {
    const delays: (number | null | undefined)[] = [];
    for (let crash = 0; crash < 7; crash++) {
      system.crash("us-east");
      delays.push(state("us-east")?.nextAttemptInMs);
      const delayMs = state("us-east")?.nextAttemptInMs ?? 0;
      await vi.advanceTimersByTimeAsync(delayMs - 1);
      expect(system.starts).toHaveLength(crash);
      await vi.advanceTimersByTimeAsync(1);
      expect(system.starts).toHaveLength(crash + 1);
      expect(state("us-east")?.state).toBe("up");
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(state("us-east")?.restarts).toBe(7);
    // The others were never touched.
    expect(system.starts.every((name) => name === "us-east")).toBe(true);
    expect(log[0]).toBe("us-east exited (code 1); restarting in 1 s");
  });

  it("starts again from 1 s once the process has stayed up a minute", async () => {
    system.crash("edge");
    await vi.advanceTimersByTimeAsync(1000);
    system.crash("edge");
    expect(state("edge")?.nextAttemptInMs).toBe(2000);
    await vi.advanceTimersByTimeAsync(2000);
    await vi.advanceTimersByTimeAsync(60_000);
    system.crash("edge", null, "SIGSEGV");
    expect(state("edge")?.nextAttemptInMs).toBe(1000);
    expect(state("edge")?.lastExit).toMatchObject({ code: null, signal: "SIGSEGV" });
  });

  it("tries again, later, when a restart fails", async () => {
    system.failures.set("eu-west", 1);
    system.crash("eu-west");
    await vi.advanceTimersByTimeAsync(1000);
    expect(state("eu-west")).toMatchObject({ state: "restarting", nextAttemptInMs: 2000 });
    expect(log.at(-1)).toContain("eu-west did not come back (eu-west exited (code 1) before it became healthy)");
    await vi.advanceTimersByTimeAsync(2000);
    expect(state("eu-west")).toMatchObject({ state: "up", restarts: 2, pid: 200 });
  });

  it("restarts nothing once closed", async () => {
    system.crash("us-east");
    supervisor.close();
    system.crash("eu-west");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(system.starts).toEqual([]);
  });
});

describe("commands", () => {
  it("kill: answers once the process has exited, and the supervisor brings it back", async () => {
    const killed = supervisor.kill("us-east");
    await vi.advanceTimersByTimeAsync(5);
    expect(await killed).toMatchObject({
      ok: true,
      value: { state: "restarting", nextAttemptInMs: 1000, lastExit: { signal: "SIGKILL" } },
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(state("us-east")).toMatchObject({ state: "up", restarts: 1 });
  });

  it("stop: down until start, with no restart meanwhile", async () => {
    expect(await supervisor.stop("eu-west")).toMatchObject({
      ok: true,
      value: { state: "stopped", pid: null, lastExit: { code: 0 } },
    });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(system.starts).toEqual([]);
    expect(await supervisor.start("eu-west")).toMatchObject({ ok: true, value: { state: "up", restarts: 0 } });
    expect(system.starts).toEqual(["eu-west"]);
  });

  it("stop while restarting cancels the pending restart", async () => {
    system.crash("us-east");
    expect(await supervisor.stop("us-east")).toMatchObject({ ok: true, value: { state: "stopped" } });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(system.starts).toEqual([]);
  });

  it("a start that fails leaves the process stopped and says why", async () => {
    await supervisor.stop("edge");
    system.failures.set("edge", 1);
    expect(await supervisor.start("edge")).toEqual({
      ok: false,
      error: { kind: "start_failed", message: "edge did not start: edge exited (code 1) before it became healthy" },
    });
    expect(state("edge")?.state).toBe("stopped");
  });

  it("refuses unknown names and commands that do not fit the state, with a typed kind", async () => {
    expect(await supervisor.kill("mars")).toMatchObject({ ok: false, error: { kind: "unknown_process" } });
    expect(await supervisor.start("us-east")).toMatchObject({ ok: false, error: { kind: "not_stopped" } });
    system.crash("us-east");
    expect(await supervisor.kill("us-east")).toMatchObject({ ok: false, error: { kind: "not_up" } });
    await supervisor.stop("eu-west");
    expect(await supervisor.stop("eu-west")).toMatchObject({ ok: false, error: { kind: "not_up" } });
    const unknown = await supervisor.stop("mars");
    expect(!unknown.ok && unknown.error.message).toBe("no process named mars (known: eu-west, us-east, edge)");
  });
});
