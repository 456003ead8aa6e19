/**
 * The SDK for browsers: `init()` gives a Stormlog client whose queue lives in IndexedDB
 * (idb-journal.ts), so lines survive reloads, crashes and closed tabs, with device info from
 * `navigator`. When the page is hidden or left it flushes with `fetch(…, {keepalive: true})`,
 * which, unlike `sendBeacon`, can carry the Authorization header the edge needs; anything not
 * delivered then is still in IndexedDB for the next visit. `captureErrors` logs uncaught errors
 * and unhandled rejections as fatal; `captureConsole` also sends `console.*` calls.
 *
 * @example
 * import { init } from "@stormlog/sdk";
 * const log = init({ appKey: "sl_ingest_…", endpoint: "https://logs.example.com", captureErrors: true });
 * log.warn("slow checkout", { tag: "perf", attrs: { ms: 5300 } });
 */
import { Stormlog, type StormlogOptions } from "./client.ts";
import { captureConsole, describeValue } from "./console.ts";
import { createIdbJournal, type IndexedDbFactory } from "./idb-journal.ts";
import type { CaptureOptions } from "./types.ts";

export type { FlushResult, LogOptions, StormlogOptions } from "./client.ts";
export { Stormlog } from "./client.ts";

export type { Attrs, CaptureOptions, Device, Level, Rejection } from "./types.ts";

export type BrowserOptions = StormlogOptions &
  CaptureOptions & {
    /** IndexedDB database name (default: one per endpoint and key). */
    databaseName?: string;
  };

type PageEvent = { error?: unknown; reason?: unknown; message?: string };

/** The browser globals used here, typed locally so the SDK builds without lib.dom. */
type Page = {
  indexedDB: IndexedDbFactory;
  navigator: { userAgent: string; language?: string; platform?: string };
  addEventListener(type: string, listener: (event: PageEvent) => void): void;
  removeEventListener(type: string, listener: (event: PageEvent) => void): void;
  document?: { visibilityState: string };
  crypto: { randomUUID(): string };
};

export function init(options: BrowserOptions): Stormlog {
  const page = globalThis as unknown as Page;
  const name = options.databaseName ?? `stormlog:${options.endpoint}:${options.appKey.slice(0, 40)}`;
  const listeners: [string, (event: PageEvent) => void][] = [];
  const client = new Stormlog(options, {
    journal: createIdbJournal(page.indexedDB, name),
    device: deviceInfo(page.navigator),
    newId: () => page.crypto.randomUUID(),
    detach: () => {
      for (const [type, listener] of listeners) page.removeEventListener(type, listener);
    },
  });
  const on = (type: string, listener: (event: PageEvent) => void) => {
    listeners.push([type, listener]);
    page.addEventListener(type, listener);
  };
  const leave = () => void client.flush({ keepalive: true }).catch(() => {});
  on("pagehide", leave);
  on("visibilitychange", () => {
    if (page.document?.visibilityState === "hidden") leave();
  });
  if (options.captureErrors) {
    on("error", (event) => client.fatal(describeValue(event.error ?? event.message), { tag: "uncaught" }));
    on("unhandledrejection", (event) => client.fatal(describeValue(event.reason), { tag: "unhandledrejection" }));
  }
  if (options.captureConsole) captureConsole(client);
  return client;
}

/** What the user agent tells without asking for permissions: browser, OS and language. */
function deviceInfo(navigator: Page["navigator"]): { model?: string; os?: string; locale?: string } {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /Chrome\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : undefined;
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Mac OS X/.test(ua)
          ? "macOS"
          : /Linux/.test(ua)
            ? "Linux"
            : navigator.platform;
  return Object.fromEntries(
    Object.entries({ model: browser, os, locale: navigator.language }).filter(([, value]) => value),
  ) as { model?: string; os?: string; locale?: string };
}
