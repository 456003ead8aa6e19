/**
 * Capture of `console.*` calls as log lines, the same in browsers and Node: each call still
 * prints, and is also queued at the matching level with the tag `console`.
 */
import type { Stormlog } from "./client.ts";
import type { Level } from "./types.ts";

const consoleLevels: ["log" | "debug" | "info" | "warn" | "error", Level][] = [
  ["log", "debug"],
  ["debug", "debug"],
  ["info", "info"],
  ["warn", "warn"],
  ["error", "error"],
];

export function captureConsole(client: Stormlog): void {
  for (const [method, level] of consoleLevels) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      client.log(level, args.map(describeValue).join(" "), { tag: "console" });
      original(...args);
    };
  }
}

/** Text for anything passed to a log call: an error's stack, an object as JSON. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
