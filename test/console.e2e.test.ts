/**
 * The console as a person uses it: a real Chromium (scripts/browser.ts) on a whole local system of
 * its own (free ports), driven by role and visible text. Each view's screenshot is saved under
 * test-artifacts/console/, and each must pass axe-core with no serious or critical violation. Views whose read endpoint this edge does not serve yet are skipped
 * where they assert on data, and still must load.
 */
import { mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionApp } from "../regional/admin/cluster.ts";
import { launchChromium } from "../scripts/browser.ts";
import { buildConsoleIfStale, consoleSignInUrl, seedDemoApp } from "../scripts/console-setup.ts";
import { startTestSystem, type TestSystem } from "./harness.ts";

const artifacts = path.resolve(import.meta.dirname, "../test-artifacts/console");
let test: TestSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let edgeUrl: string;
let demo: { id: string; ingestKey: string; readKey: string };
let seededLines = 0;

async function upload(ingestKey: string, deviceId: string, texts: string[]): Promise<string> {
  const batchId = `e2e-${crypto.randomUUID()}`;
  const response = await fetch(`${edgeUrl}/v1/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${ingestKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      batchId,
      device: { id: deviceId, model: "e2e" },
      logs: texts.map((text, index) => ({
        ts: new Date(Date.now() - 1000 + index).toISOString(),
        level: "info",
        tag: "e2e",
        text,
      })),
    }),
  });
  expect(response.status).toBe(202);
  return batchId;
}

async function endpointExists(pathAndQuery: string): Promise<boolean> {
  const response = await fetch(`${edgeUrl}${pathAndQuery}`, { headers: { authorization: `Bearer ${demo.readKey}` } });
  return response.status !== 404;
}

/** Saves the view's screenshot, and fails on any serious or critical axe-core violation in it. */
async function shot(name: string, on: Page = page): Promise<void> {
  await on.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: false });
  await on.addScriptTag({ path: axePath });
  const violations = await on.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: () => Promise<{ violations: AxeViolation[] }> } }).axe;
    const { violations } = await axe.run();
    return violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  });
  expect(violations, `axe-core on ${name}`).toEqual([]);
}

type AxeViolation = { id: string; impact: string | null; nodes: { target: string[] }[] };
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

beforeAll(async () => {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  buildConsoleIfStale();
  test = await startTestSystem();
  edgeUrl = test.system.info.edgeUrl;
  demo = test.system.info.app;
  seededLines = (await seedDemoApp(edgeUrl, demo)) * 12;
  browser = await launchChromium();
  context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: "en-GB",
    timezoneId: "Europe/Dublin",
  });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await test?.system.stop();
});

describe("the console", () => {
  it("opens signed in from a one-time sign-in link and lists the seeded devices", async () => {
    await page.goto(await consoleSignInUrl(edgeUrl, demo.readKey));
    await expect.poll(() => page.url()).toContain(`app=${demo.id}`);
    expect(page.url()).not.toContain("token=");
    await page.getByRole("heading", { name: "Devices" }).waitFor();
    for (const name of ["Ana's Pixel", "QA iPhone", "Checkout web"]) {
      await page.getByRole("link", { name }).waitFor();
    }
    await shot("devices");
    // The link was for one use.
    const again = await fetch(await consoleSignInUrl(edgeUrl, demo.readKey), { redirect: "manual" });
    expect(again.status).toBe(303);
  });

  it("shows a device's timeline in time order, and filters narrow it", async () => {
    await page.getByRole("link", { name: "Ana's Pixel" }).click();
    await page.getByRole("heading", { name: "Device demo-pixel-9" }).waitFor();
    const rows = page.getByRole("list", { name: "Lines of device demo-pixel-9" }).getByRole("listitem");
    await rows.first().waitFor();
    const times = await page
      .locator(".row time")
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute("datetime") ?? ""));
    expect(times.length).toBeGreaterThan(5);
    expect([...times].sort()).toEqual(times);
    await rows.first().getByRole("button").click();
    await page.getByText("attrs:").first().waitFor();
    await shot("timeline");
    const before = await rows.count();
    await page.getByLabel("Min level").selectOption("error");
    await expect
      .poll(async () =>
        (await page.locator(".row .level").allTextContents()).every((level) => ["error", "fatal"].includes(level)),
      )
      .toBe(true);
    expect(await rows.count()).toBeLessThan(before);
  });

  it("finds a unique marker by search, and its permalink opens the timeline at its line", async () => {
    const marker = `marker-${crypto.randomUUID().slice(0, 8)}`;
    const batchId = await upload(demo.ingestKey, "demo-pixel-9", [
      "before the marker",
      `found ${marker} here`,
      "after it",
    ]);
    await page.goto(`${edgeUrl}/logs?app=${demo.id}`);
    await page.getByRole("heading", { name: "All logs" }).waitFor();
    await page.getByRole("list", { name: "Lines of every device" }).waitFor();
    await page.keyboard.press("/");
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label")))
      .toBe("Search text");
    await page.keyboard.type(marker);
    await page.keyboard.press("Enter");
    await expect.poll(() => page.url()).toContain(`q=${marker}`);
    const rows = page.getByRole("list", { name: "Lines of every device" }).getByRole("listitem");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain(marker);

    await page.goto(`${edgeUrl}/devices/demo-pixel-9?app=${demo.id}&line=${encodeURIComponent(`${batchId}:1`)}`);
    const opened = page.locator(".row .line[aria-expanded='true']");
    await opened.waitFor();
    expect(await opened.textContent()).toContain(marker);
    await shot("permalink");
  });

  it("the histogram's total equals the lines uploaded", async (ctx) => {
    if (!(await endpointExists("/v1/stats/volume"))) ctx.skip();
    await page.goto(`${edgeUrl}/logs?app=${demo.id}`);
    const total = page.getByTestId("volume-total");
    await total.waitFor();
    // The demo batches and the marker batch (3 lines).
    expect(Number(await total.textContent())).toBe(seededLines + 3);
    await shot("all-logs");
  });

  it("live tail shows a new upload within 2 s", async (ctx) => {
    if (!(await endpointExists("/v1/tail"))) ctx.skip();
    await page.goto(`${edgeUrl}/tail?app=${demo.id}`);
    await page.getByText("Following new lines").waitFor();
    await page.waitForTimeout(1500);
    const text = `tail-${crypto.randomUUID().slice(0, 8)}`;
    await upload(demo.ingestKey, "demo-web", [text]);
    const acked = Date.now();
    await page.getByText(text).waitFor({ timeout: 2000 });
    expect(Date.now() - acked).toBeLessThan(2000);
    await shot("tail");
  });

  it("with one region killed, every view still loads", async () => {
    const name = test.system.info.regions[0]?.name as string;
    test.system.signalRegion(name, "SIGKILL");
    for (const [path, heading] of [
      ["/", "Devices"],
      ["/devices/demo-iphone-16", "Device demo-iphone-16"],
      ["/logs", "All logs"],
      ["/tail", "Live tail"],
      ["/regions", "Regions"],
    ] as const) {
      await page.goto(`${edgeUrl}${path}?app=${demo.id}`);
      await page.getByRole("heading", { name: heading }).waitFor();
      await expect.poll(() => page.locator(".muted[role=status]").count(), { timeout: 15_000 }).toBe(0);
      const errors = await page.locator(".error[role=alert]").allTextContents();
      expect(errors.filter((error) => !error.includes("does not serve"))).toEqual([]);
    }
    await shot("regions");
    await test.system.startRegion(name);
  });

  it("one app's session never shows another app's devices", async () => {
    const other = await provisionApp(test.system.adminCluster(), "other");
    await upload(other.ingestKey, "other-app-device", ["only in the other app"]);
    await page.goto(`${edgeUrl}/?app=${demo.id}`);
    await page.getByLabel("App", { exact: true }).selectOption("+");
    await page.getByLabel("App read key").fill(other.readKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("link", { name: "other-app-device" }).waitFor();
    expect(await page.getByRole("link", { name: "QA iPhone" }).count()).toBe(0);
    await page.getByLabel("App", { exact: true }).selectOption(demo.id);
    // (An earlier test's upload renamed demo-pixel-9; QA iPhone keeps its seeded name.)
    await page.getByRole("link", { name: "QA iPhone" }).waitFor();
    expect(await page.getByRole("link", { name: "other-app-device" }).count()).toBe(0);
  });

  it("signing out ends access: the API answers 401 to the old cookie", async () => {
    const cookie = (await context.cookies()).find((candidate) => candidate.name === "stormlog_console");
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Strict");
    await page.goto(`${edgeUrl}/?app=${demo.id}`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("link", { name: "other-app-device" }).waitFor();
    const answer = await fetch(`${edgeUrl}/v1/devices`, {
      headers: { cookie: `stormlog_console=${cookie?.value}`, "x-stormlog-app": demo.id },
    });
    expect(answer.status).toBe(401);
  });

  it("an ingest key cannot sign in, and the console says to use the read key", async () => {
    const fresh = await browser.newContext({ locale: "en-GB" });
    const signInPage = await fresh.newPage();
    await signInPage.goto(edgeUrl);
    await signInPage.getByLabel("App read key").fill(demo.ingestKey);
    await signInPage.getByRole("button", { name: "Sign in" }).click();
    await signInPage.getByRole("alert").getByText("read key").waitFor();
    await shot("sign-in", signInPage);
    await fresh.close();
  });
});
