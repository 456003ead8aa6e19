// The browser SDK in real Chromium (scripts/browser.ts): the IndexedDB queue survives reloads and
// resends the same batch, batches and evicts as in Node, and leaving the page flushes it.
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launchChromium, type StaticSite, serveStatic } from "../scripts/browser.ts";
import { gapTag } from "./queue.ts";
import { type EdgeStub, startEdgeStub } from "./testing/edge-stub.ts";

let browser: Browser;
let site: StaticSite;
let edge: EdgeStub;
let page: Page;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [new URL("./browser.ts", import.meta.url).pathname],
    bundle: true,
    format: "iife",
    globalName: "Stormlog",
    write: false,
  });
  const script = bundle.outputFiles[0]?.text ?? "";
  [browser, site] = await Promise.all([
    launchChromium(),
    serveStatic({ "/": { html: `<!doctype html><title>app</title><script>${script}</script>` } }),
  ]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), site?.close()]);
});

beforeEach(async () => {
  edge = await startEdgeStub();
  page = await browser.newPage();
});

afterEach(async () => {
  await page.close();
  await edge.close();
});

type Options = Record<string, unknown>;

/** Starts the SDK in the page (as `globalThis.log`) and waits until its queue is loaded. */
async function start(options: Options): Promise<void> {
  await page.evaluate(async (options) => {
    const scope = globalThis as unknown as Record<string, unknown> & {
      Stormlog: { init(options: unknown): { ready: Promise<void> } };
    };
    scope.log = scope.Stormlog.init({ appKey: "sl_ingest_test", flushIntervalMs: 60_000, ...options });
    await (scope.log as { ready: Promise<void> }).ready;
  }, options);
}

/** Runs `code` in the page with the client as `log`. */
function inPage<T>(code: string): Promise<T> {
  return page.evaluate(`(async (log) => { ${code} })(globalThis.log)`) as Promise<T>;
}

describe("the SDK in a browser", () => {
  it("keeps its queue in IndexedDB across a reload and resends the same batch", async () => {
    const db = `db-${crypto.randomUUID()}`;
    await page.goto(site.url);
    await start({ endpoint: edge.url, databaseName: db });
    edge.script({ status: 503, headers: { "retry-after": "1" } });
    const first = await inPage<{ pending: number; device: string }>(`
      log.info("before reload 1"); log.error("before reload 2", { tag: "pay", attrs: { n: 1 } });
      const result = await log.flush();
      return { pending: result.pending, device: log.deviceInfo.id };`);
    expect(first.pending).toBe(2);

    await page.reload();
    await start({ endpoint: edge.url, databaseName: db });
    // Loading a non-empty queue starts an upload at once; flush() waits for it.
    const second = await inPage<{ device: string; left: number }>(`
      const result = await log.flush();
      return { device: log.deviceInfo.id, left: result.pending };`);
    expect(second).toEqual({ device: first.device, left: 0 });
    // Leaving the page for the reload may have sent it once more (keepalive flush): every
    // attempt, before and after the reload, is the same batch, byte for byte.
    const [failed, ...retried] = edge.received;
    expect(retried.length).toBeGreaterThanOrEqual(1);
    for (const attempt of retried) expect(attempt.body).toBe(failed?.body);
    expect(edge.stored.size).toBe(1);
    const last = retried.at(-1);
    expect(last?.upload.device).toMatchObject({ id: first.device, model: "Chrome", os: "Linux" });
    expect(last?.upload.logs[1]).toMatchObject({ level: "error", tag: "pay", attrs: { n: 1 } });
  });

  it("batches by count and evicts debug before errors, with a gap marker", async () => {
    const db = `db-${crypto.randomUUID()}`;
    await page.goto(site.url);
    await start({ endpoint: "http://127.0.0.1:9", databaseName: db, queueBytesMax: 3000 });
    await inPage(`
      for (let i = 0; i < 40; i++) log.log(i % 4 === 0 ? "error" : "debug", "line " + i + " " + "x".repeat(40));
      await log.persisted();`);
    await page.reload();
    await start({ endpoint: edge.url, databaseName: db, queueBytesMax: 3000, batchLinesMax: 5 });
    await inPage("await log.flush();");

    expect(edge.received.every((call) => call.upload.logs.length <= 5)).toBe(true);
    const lines = edge.received.flatMap((call) => call.upload.logs);
    expect(lines.filter((line) => line.level === "error")).toHaveLength(10);
    const gap = lines.find((line) => line.tag === gapTag)?.attrs?.[gapTag] as { dropped: Record<string, number> };
    expect(gap.dropped).toEqual({ debug: 30 - lines.filter((line) => line.level === "debug").length });
    expect(gap.dropped.debug).toBeGreaterThan(0);
  });

  it("flushes with keepalive when the page is left", async () => {
    await page.goto(site.url);
    await start({ endpoint: edge.url, databaseName: `db-${crypto.randomUUID()}` });
    await inPage(`log.warn("leaving soon"); await log.persisted();`);
    await page.goto("about:blank");
    const deadline = Date.now() + 10_000;
    while (edge.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(edge.received.flatMap((call) => call.upload.logs.map((line) => line.text))).toEqual(["leaving soon"]);
  });

  it("obeys remote logging control: holds lines while disabled, drops those below the minimum level", async () => {
    edge.settings = { enabled: false, minLevel: "info" };
    await page.goto(site.url);
    await start({ endpoint: edge.url, databaseName: `db-${crypto.randomUUID()}`, settingsIntervalMs: 200 });
    const held = await inPage<{ pending: number }>(`
      while (log.settings.enabled) await new Promise((r) => setTimeout(r, 20));
      log.debug("below"); log.info("held 1"); log.error("held 2");
      return { pending: (await log.flush()).pending };`);
    expect(held.pending).toBe(2);
    expect(edge.received).toEqual([]);

    edge.settings = { enabled: true, minLevel: "info" };
    const deadline = Date.now() + 5_000;
    while (edge.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(edge.received.flatMap((call) => call.upload.logs.map((line) => line.text))).toEqual(["held 1", "held 2"]);
  });
});
