import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { regionEnvOf, whenEnded } from "./local-system.ts";

describe("regionEnvOf", () => {
  it("gives every region the same extra environment", () => {
    expect(regionEnvOf({ STORMLOG_LOG_LEVEL: "warn" }, "eu-west")).toEqual({ STORMLOG_LOG_LEVEL: "warn" });
  });

  it("gives each region its own when given a function of the region's name", () => {
    const env = (name: string) => ({ DATABASE_URL: `postgres://127.0.0.1:5432/bench_${name.replace("-", "_")}` });
    expect(regionEnvOf(env, "eu-west")).toEqual({ DATABASE_URL: "postgres://127.0.0.1:5432/bench_eu_west" });
    expect(regionEnvOf(env, "us-east")).toEqual({ DATABASE_URL: "postgres://127.0.0.1:5432/bench_us_east" });
  });
});

describe("whenEnded", () => {
  const watch = (args: { command: string; args: string[] }) =>
    new Promise<{ ended: [number | null, NodeJS.Signals | null][]; reported: string[] }>((resolve) => {
      const ended: [number | null, NodeJS.Signals | null][] = [];
      const reported: string[] = [];
      const child = spawn(args.command, args.args, { stdio: "ignore" });
      whenEnded(
        child,
        (code, signal) => ended.push([code, signal]),
        (error) => reported.push(error.message),
      );
      // After every event the child can emit.
      child.on("close", () => setTimeout(() => resolve({ ended, reported }), 50));
    });

  it("reports a process that exits, once, with its code", async () => {
    expect(await watch({ command: process.execPath, args: ["-e", "process.exit(3)"] })).toEqual({
      ended: [[3, null]],
      reported: [],
    });
  });

  it("takes a process that could not be started as ended, without throwing", async () => {
    const { ended, reported } = await watch({ command: "/nonexistent/stormlog-node", args: [] });
    expect(ended).toEqual([[-2, null]]);
    expect(reported).toEqual(["spawn /nonexistent/stormlog-node ENOENT"]);
  });
});
