/**
 * Browser SDKs against the whole local system, in headless Chromium, from a page on another
 * origin (so CORS is real):
 *  - the official Bugfender web SDK (`@bugfender/sdk`, unmodified), configured with `apiURL`
 *    pointing at the edge's `/bugfender` and the Stormlog ingest key as its app key: its logs at
 *    every level and an issue are stored as native batches, read back through `GET /v1/logs`, and
 *    its device appears in `GET /v1/devices`;
 *  - the Stormlog SDK's browser build, uploading straight to `POST /v1/batches`.
 */
import { createRequire } from "node:module";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, type StaticSite, serveStatic } from "../../scripts/browser.ts";
import type { DeviceRecord, LogPage, LogRecord } from "../../shared/read.ts";
import { type JoinedSystem, joinSystem } from "./system.ts";

const require = createRequire(import.meta.url);
let system: JoinedSystem;
let browser: Browser;
let site: StaticSite;

beforeAll(async () => {
  [system, browser, site] = await Promise.all([
    joinSystem("browsers"),
    launchChromium(),
    serveStatic({
      "/": { html: '<!doctype html><title>shop</title><script src="/bugfender.js"></script>' },
      "/bugfender.js": { file: require.resolve("@bugfender/sdk") },
      "/stormlog": { html: `<!doctype html><title>app</title><script>${await stormlogBundle()}</script>` },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), site?.close()]);
});

/** The Stormlog SDK's browser entry as one script that defines `globalThis.Stormlog`. */
async function stormlogBundle(): Promise<string> {
  const bundle = await build({
    entryPoints: [new URL("../../sdk/browser.ts", import.meta.url).pathname],
    bundle: true,
    format: "iife",
    globalName: "Stormlog",
    write: false,
  });
  return bundle.outputFiles[0]?.text ?? "";
}

async function readMarked(marker: string): Promise<LogRecord[]> {
  const response = await fetch(`${system.edgeUrl}/v1/logs?q=${marker}&limit=1000`, {
    headers: { authorization: `Bearer ${system.app.readKey}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as LogPage).logs;
}

describe("the Bugfender web SDK against Stormlog", () => {
  it("uploads logs and an issue that read back like native ones", async () => {
    const marker = `bf${crypto.randomUUID().replaceAll("-", "")}`;
    const page = await browser.newPage();
    const failures: string[] = [];
    page.on("requestfailed", (request) => failures.push(`${request.method()} ${request.url()}`));
    // The page's clock runs as usual but can be moved on: see the wait below.
    await page.clock.install();
    await page.goto(site.url);
    const udid = await page.evaluate(
      async ({ apiURL, appKey, marker }) => {
        // Runs in the page: the SDK's UMD build put itself on the global object.
        type Log = (text: string) => void;
        type Bugfender = {
          init(options: Record<string, unknown>): Promise<void>;
          trace: Log;
          log: Log;
          info: Log;
          warn: Log;
          error: Log;
          fatal: Log;
          sendLog(entry: Record<string, unknown>): void;
          sendIssue(title: string, text: string): Promise<unknown>;
          forceSendOnce(): void;
        };
        const page = globalThis as unknown as Record<string, { Bugfender: Bugfender }> & {
          localStorage: { getItem(key: string): string | null } & Record<string, string>;
        };
        const { Bugfender } = page["@bugfender/sdk"] as { Bugfender: Bugfender };
        await Bugfender.init({
          appKey,
          apiURL,
          version: "3.1.0",
          build: "310",
          overrideConsoleMethods: false,
          printToConsole: false,
          logBrowserEvents: false,
          logUIEvents: false,
          registerErrorHandler: false,
        });
        Bugfender.trace(`${marker} trace`);
        Bugfender.log(`${marker} debug`);
        Bugfender.info(`${marker} info`);
        Bugfender.warn(`${marker} warn`);
        Bugfender.error(`${marker} error`);
        Bugfender.fatal(`${marker} fatal`);
        Bugfender.sendLog({
          level: 1,
          tag: "cart",
          text: `${marker} tagged`,
          method: "addItem",
          file: "cart.js",
          line: 42,
        });
        await Bugfender.sendIssue(`${marker} checkout failed`, "the pay button did nothing");
        Bugfender.forceSendOnce();
        return Object.values({ ...page.localStorage }).join(",");
      },
      { apiURL: `${system.edgeUrl}/bugfender`, appKey: system.app.ingestKey, marker },
    );

    // The SDK uploads on its own timer (every 15 s): each round moves the page's clock on by that
    // much, so the timer fires now rather than in 15 s, then waits for everything to arrive.
    let lines: LogRecord[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      lines = await readMarked(marker);
      const texts = new Set(lines.map((line) => line.text));
      const expected = ["trace", "debug", "info", "warn", "error", "fatal", "tagged"].map(
        (name) => `${marker} ${name}`,
      );
      if (expected.every((text) => texts.has(text)) && lines.some((line) => line.tag === "stormlog.issue")) break;
      await page.clock.fastForward(15_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await page.close();
    expect(failures).toEqual([]);

    const byText = new Map(lines.map((line) => [line.text, line]));
    for (const level of ["trace", "debug", "info", "warn", "error", "fatal"]) {
      expect(byText.get(`${marker} ${level}`)?.level, level).toBe(level);
    }
    expect(byText.get(`${marker} tagged`)).toMatchObject({
      level: "warn",
      tag: "cart",
      method: "addItem",
      file: "cart.js",
      line: 42,
      attrs: { url: `${site.url}/`, "bugfender.session": expect.any(String) },
    });
    const issue = lines.find((line) => line.tag === "stormlog.issue");
    expect(issue).toMatchObject({
      level: "error",
      text: `${marker} checkout failed`,
      attrs: {
        "stormlog.body": "the pay button did nothing",
        issue_type: "issue",
        title: `${marker} checkout failed`,
      },
    });
    // Every line, from logs and from the issue, is stored once and under the same device.
    expect(new Set(lines.map((line) => line.deviceId)).size).toBe(1);
    expect(lines.length).toBe(new Set(lines.map((line) => `${line.text}|${line.tag ?? ""}`)).size);

    const devices = (await (
      await fetch(`${system.edgeUrl}/v1/devices`, {
        headers: { authorization: `Bearer ${system.app.readKey}` },
      })
    ).json()) as { devices: DeviceRecord[] };
    const device = devices.devices.find((candidate) => candidate.id === lines[0]?.deviceId);
    expect(device).toMatchObject({ model: "Chrome", os: "Linux", appVersion: "3.1.0", appBuild: "310" });
    expect(udid).toContain(device?.id);
  });
});

describe("the Bugfender web SDK under remote logging control", () => {
  it("holds its lines while its app version is disabled, then sends those from the minimum level", async () => {
    const marker = `bfctl${crypto.randomUUID().replaceAll("-", "")}`;
    const version = `9.${marker}`;
    const setVersion = async (settings: { enabled: boolean; minLevel: string }) => {
      const response = await fetch(`${system.edgeUrl}/v1/settings?appVersion=${version}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${system.app.manageKey}`, "content-type": "application/json" },
        body: JSON.stringify(settings),
      });
      expect(response.status).toBe(200);
    };
    await setVersion({ enabled: false, minLevel: "warn" });
    const page = await browser.newPage();
    await page.clock.install();
    await page.goto(site.url);
    await page.evaluate(
      async ({ apiURL, appKey, marker, version }) => {
        type Log = (text: string) => void;
        type Bugfender = {
          init(options: Record<string, unknown>): Promise<void>;
          trace: Log;
          info: Log;
          warn: Log;
          error: Log;
        };
        const { Bugfender } = (globalThis as unknown as Record<string, { Bugfender: Bugfender }>)["@bugfender/sdk"] as {
          Bugfender: Bugfender;
        };
        await Bugfender.init({
          appKey,
          apiURL,
          version,
          printToConsole: false,
          logBrowserEvents: false,
          logUIEvents: false,
          registerErrorHandler: false,
          overrideConsoleMethods: false,
        });
        Bugfender.trace(`${marker} trace`);
        Bugfender.info(`${marker} info`);
        Bugfender.warn(`${marker} warn`);
        Bugfender.error(`${marker} error`);
      },
      { apiURL: `${system.edgeUrl}/bugfender`, appKey: system.app.ingestKey, marker, version },
    );
    // Disabled: two of its 15 s send rounds go by and nothing arrives.
    for (let round = 0; round < 2; round++) {
      await page.clock.fastForward(15_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(await readMarked(marker)).toEqual([]);

    // Enabled: the SDK asks again within 5 minutes, then sends what it kept, from warn up.
    await setVersion({ enabled: true, minLevel: "warn" });
    await page.clock.fastForward(5 * 60_000);
    let texts: string[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      texts = (await readMarked(marker)).map((line) => line.text).sort();
      if (texts.length >= 2) break;
      await page.clock.fastForward(15_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await page.close();
    expect(texts).toEqual([`${marker} error`, `${marker} warn`]);
  });
});

describe("the Stormlog SDK in a browser against the edge", () => {
  it("uploads from another origin straight to /v1/batches, and the lines read back", async () => {
    const marker = `sl${crypto.randomUUID().replaceAll("-", "")}`;
    const page = await browser.newPage();
    await page.goto(`${site.url}/stormlog`);
    const result = await page.evaluate(
      async ({ endpoint, appKey, marker }) => {
        type Client = {
          ready: Promise<void>;
          info(text: string, options?: unknown): void;
          fatal(text: string): void;
          flush(): Promise<{ delivered: number; pending: number }>;
          deviceInfo: { id: string };
        };
        const scope = globalThis as unknown as { Stormlog: { init(options: unknown): Client } };
        const log = scope.Stormlog.init({ appKey, endpoint, device: { appVersion: "1.0.0" } });
        await log.ready;
        log.info(`${marker} hello`, { tag: "web", attrs: { route: "/cart" } });
        log.fatal(`${marker} bye`);
        return { ...(await log.flush()), device: log.deviceInfo.id };
      },
      { endpoint: system.edgeUrl, appKey: system.app.ingestKey, marker },
    );
    await page.close();
    expect(result).toMatchObject({ delivered: 2, pending: 0 });
    const lines = await readMarked(marker);
    expect(lines.map((line) => [line.level, line.text, line.deviceId])).toEqual([
      ["info", `${marker} hello`, result.device],
      ["fatal", `${marker} bye`, result.device],
    ]);
    expect(lines[0]).toMatchObject({ tag: "web", attrs: { route: "/cart" } });
  });
});
