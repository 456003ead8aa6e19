/**
 * The SDK for Node: `init()` gives a Stormlog client whose queue is an append-only file
 * (file-journal.ts) in `dir`, with device info from the OS. It flushes when the event loop runs
 * dry (`beforeExit`), writes what is not yet on disk when the process exits (`exit`, so a
 * `process.exit()` loses nothing), and with `captureErrors` logs an uncaught exception as fatal.
 *
 * @example
 * import { init } from "@stormlog/sdk";
 * const log = init({ appKey: process.env.STORMLOG_KEY, endpoint: "https://logs.example.com" });
 * log.info("checkout started", { tag: "cart", attrs: { items: 3 } });
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { Stormlog, type StormlogOptions } from "./client.ts";
import { captureConsole } from "./console.ts";
import { createFileJournal } from "./file-journal.ts";
import type { CaptureOptions } from "./types.ts";

export type { FlushResult, LogOptions, StormlogOptions } from "./client.ts";
export { Stormlog } from "./client.ts";

export type { Attrs, CaptureOptions, Device, Level, Rejection } from "./types.ts";

export type NodeOptions = StormlogOptions &
  CaptureOptions & {
    /** Folder of the queue file (default `.stormlog-queue` in the working directory). */
    dir?: string;
    /** Flush when the event loop runs dry (default true). */
    flushOnExit?: boolean;
  };

/** Process listeners get what their event passes (an error and its origin, an exit code). */
// biome-ignore lint/suspicious/noExplicitAny: process.on takes listeners of every event's own signature
type Listener = (...args: any[]) => void;

export function init(options: NodeOptions): Stormlog {
  const listeners: [string, Listener][] = [];
  const client = new Stormlog(options, {
    journal: createFileJournal(options.dir ?? path.resolve(".stormlog-queue")),
    device: {
      name: os.hostname(),
      model: os.arch(),
      os: process.platform,
      osVersion: os.release(),
      locale: Intl.DateTimeFormat().resolvedOptions().locale,
    },
    newId: randomUUID,
    detach: () => {
      for (const [event, listener] of listeners) process.off(event, listener);
    },
  });
  const on = (event: string, listener: Listener) => {
    listeners.push([event, listener]);
    process.on(event, listener);
  };
  on("exit", () => client.persistSync());
  if (options.flushOnExit !== false) {
    // Only once: a flush that cannot deliver would otherwise keep the process alive forever.
    let flushed = false;
    on("beforeExit", () => {
      if (flushed) return;
      flushed = true;
      void client.flush().catch(() => {});
    });
  }
  if (options.captureErrors) {
    on("uncaughtExceptionMonitor", (error: unknown, origin: string) => {
      client.fatal(error instanceof Error ? (error.stack ?? error.message) : String(error), {
        tag: "uncaught",
        attrs: { origin },
      });
      client.persistSync();
    });
  }
  if (options.captureConsole) captureConsole(client);
  return client;
}
