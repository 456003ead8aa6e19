/**
 * `npm run bench:console` (its second part): the console's time to first rows in a real browser.
 * Starts the whole local system (three regions, the edge on workerd serving the built console) in
 * a temp folder on free ports, uploads one device's 100,000 lines through the edge in batches of
 * 100 as an SDK would, signs Chromium in with a one-time link, then times, after a warm-up, a
 * fresh load of each view from navigation to its first rows on screen: the device's timeline and
 * the all-logs view, against the devices list (one small page of devices) as the baseline of what
 * any view costs to load in the same run.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { launchChromium } from "../scripts/browser.ts";
import { buildConsoleIfStale, consoleSignInUrl } from "../scripts/console-setup.ts";
import { LocalSystem } from "../scripts/local-system.ts";
import { withFreePorts } from "../scripts/ports.ts";
import { benchDevice, deviceBatch, linesPerBatch } from "./device-lines.ts";
import { percentile } from "./holdings.ts";
import { exit, stopOnInterrupt } from "./interrupt.ts";

const { values } = parseArgs({
  options: { lines: { type: "string", default: "100000" }, runs: { type: "string", default: "10" } },
});
const totalLines = Number(values.lines);
const runs = Number(values.runs);
const uploadClients = 4;

buildConsoleIfStale();
const dir = await mkdtemp(path.join(tmpdir(), "stormlog-bench-console-ui-"));
const starting = withFreePorts(8, ([edgePort, inspectorPort, ...regional]) =>
  LocalSystem.start({
    dir,
    edgePort,
    inspectorPort,
    regionPorts: regional.slice(0, 3),
    adminPorts: regional.slice(3),
    output: () => {},
  }),
);
const forget = stopOnInterrupt(async () => (await starting).stop());
const system = await starting;
const { edgeUrl, app } = system.info;

/** Uploads batch `b`, waiting out a 429 or 503 as an SDK does. */
async function upload(b: number): Promise<void> {
  const body = JSON.stringify(deviceBatch(b));
  for (;;) {
    const response = await fetch(`${edgeUrl}/v1/batches`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.ingestKey}`, "content-type": "application/json" },
      body,
    });
    if (response.status === 202) return;
    if (response.status !== 429 && response.status !== 503) {
      throw new Error(`upload ${b}: ${response.status} ${await response.text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get("retry-after") ?? 1) * 1000));
  }
}

let exitCode = 0;
const browser = await launchChromium();
try {
  const loadStartedMs = performance.now();
  const batches = totalLines / linesPerBatch;
  let next = 0;
  await Promise.all(
    Array.from({ length: uploadClients }, async () => {
      while (next < batches) await upload(next++);
    }),
  );
  const loadSeconds = (performance.now() - loadStartedMs) / 1000;

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
  const page = await context.newPage();
  await page.goto(await consoleSignInUrl(edgeUrl, app.readKey));
  await page.waitForURL(/app=/);

  /** Median (and p90) milliseconds from navigation to `selector` visible, over `runs` fresh loads. */
  async function timeToFirst(url: string, selector: string): Promise<{ medianMs: number; p90Ms: number }> {
    const times: number[] = [];
    for (let i = 0; i < Math.ceil(runs / 3) + runs; i++) {
      await page.goto("about:blank");
      const startedMs = performance.now();
      await page.goto(url);
      await page.locator(selector).first().waitFor({ state: "visible", timeout: 30_000 });
      if (i >= Math.ceil(runs / 3)) times.push(performance.now() - startedMs);
    }
    return { medianMs: Math.round(percentile(times, 50)), p90Ms: Math.round(percentile(times, 90)) };
  }

  const devicesList = await timeToFirst(`${edgeUrl}/?app=${app.id}`, `a:has-text("${benchDevice.name}")`);
  const timeline = await timeToFirst(`${edgeUrl}/devices/${benchDevice.id}?app=${app.id}`, ".rows .row");
  const allLogs = await timeToFirst(`${edgeUrl}/logs?app=${app.id}`, ".rows .row");
  const ratio = (figure: { medianMs: number }) => Math.round((figure.medianMs / devicesList.medianMs) * 100) / 100;
  console.log(
    JSON.stringify(
      {
        system: "npm start's: three regions on PGlite, the edge on workerd, Chromium headless",
        load: { lines: totalLines, batches, seconds: Math.round(loadSeconds) },
        runs,
        timeToFirstRows: { devicesList, timeline, allLogs },
        overDevicesList: { timeline: ratio(timeline), allLogs: ratio(allLogs) },
      },
      null,
      2,
    ),
  );
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await browser.close();
  forget();
  await system.stop();
  await rm(dir, { recursive: true, force: true });
}
await exit(exitCode);
