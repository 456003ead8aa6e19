/**
 * The console as a person uses it: a real Chromium (scripts/browser.ts) on a whole local system of
 * its own (free ports), driven by role and visible text. Each view's screenshot is saved under
 * test-artifacts/console/, and each must pass axe-core with no serious or critical violation.
 * Nothing is skipped: a view whose endpoint is missing fails. A read-key session sees no management
 * (Settings, Erase) and a manage-key session does.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionApp } from "../regional/admin/cluster.ts";
import { launchChromium } from "../scripts/browser.ts";
import { buildConsoleIfStale, consoleSignInUrl, seedDemoApp } from "../scripts/console-setup.ts";
import { init } from "../sdk/node.ts";
import { erasureReceiptSchema, erasureStatusSchema } from "../shared/lifecycle.ts";
import { logPageSchema } from "../shared/read.ts";
import { startTestSystem, type TestSystem } from "./harness.ts";

const artifacts = path.resolve(import.meta.dirname, "../test-artifacts/console");
let test: TestSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let edgeUrl: string;
let demo: { id: string; ingestKey: string; readKey: string; manageKey: string };
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

/** A browser session of its own, signed in to the demo app with `key` (read or manage) by a link. */
async function signedIn(key: string): Promise<{ own: BrowserContext; on: Page }> {
  const own = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB" });
  const on = await own.newPage();
  await on.goto(await consoleSignInUrl(edgeUrl, key));
  await on.getByRole("heading", { name: "Devices" }).waitFor();
  return { own, on };
}

type AxeViolation = { id: string; impact: string | null; nodes: { target: string[] }[] };
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

beforeAll(async () => {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  buildConsoleIfStale();
  // Chromium starts while the system does; closed again if the system does not start.
  const launching = launchChromium();
  test = await startTestSystem().catch(async (error: unknown) => {
    await (await launching).close();
    throw error;
  });
  browser = await launching;
  edgeUrl = test.system.info.edgeUrl;
  demo = test.system.info.app;
  seededLines = (await seedDemoApp(edgeUrl, demo)) * 12;
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

  it("finds a phrase whose first match lies pages past batches that only seem to hold it", async () => {
    // Each decoy holds both words, in lines of their own: the search filter cannot rule it out, so
    // the region opens it, and a page stops after opening 200 (limits.readBatchesOpenedMax)
    // with no line on it yet. The console reads on rather than say nothing matches.
    const [first, second] = [`amber${crypto.randomUUID().slice(0, 6)}`, `delta${crypto.randomUUID().slice(0, 6)}`];
    const decoys = 201;
    const startMs = Date.now() - 120_000;
    // An app of its own, so the other views' totals stay the demo app's.
    const searched = await provisionApp(test.system.adminCluster(), "searched");
    const post = (batchId: string, tsMs: number, texts: string[]) =>
      fetch(`${edgeUrl}/v1/batches`, {
        method: "POST",
        headers: { authorization: `Bearer ${searched.ingestKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          batchId,
          device: { id: "demo-pixel-9" },
          logs: texts.map((text, index) => ({ ts: tsMs + index, level: "info", text })),
        }),
      }).then((response) => response.status);
    for (let at = 0; at < decoys; at += 20) {
      const statuses = await Promise.all(
        Array.from({ length: Math.min(20, decoys - at) }, (_, index) =>
          post(`decoy-${crypto.randomUUID()}`, startMs + (at + index) * 100, [`${first} alone`, `${second} alone`]),
        ),
      );
      expect(statuses.every((status) => status === 202)).toBe(true);
    }
    expect(await post(`phrase-${crypto.randomUUID()}`, startMs + 60_000, [`together: ${first} ${second}`])).toBe(202);

    const { own, on } = await signedIn(searched.readKey);
    try {
      await on.goto(`${edgeUrl}/logs?app=${searched.id}&q=${encodeURIComponent(`${first} ${second}`)}`);
      const rows = on.getByRole("list", { name: "Lines of every device" }).getByRole("listitem");
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(1);
      expect(await rows.first().textContent()).toContain(`together: ${first} ${second}`);
      expect(await on.getByText("No lines match").count()).toBe(0);
    } finally {
      await own.close();
    }
  });

  it("the histogram's total equals the lines uploaded", async () => {
    await page.goto(`${edgeUrl}/logs?app=${demo.id}`);
    const total = page.getByTestId("volume-total");
    await total.waitFor();
    // The demo batches and the marker batch (3 lines).
    expect(Number(await total.textContent())).toBe(seededLines + 3);
    await shot("all-logs");
  });

  it("the Usage page shows what the app keeps per day, the seeded lines in its totals", async () => {
    await page.goto(`${edgeUrl}/?app=${demo.id}`);
    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage" }).waitFor();
    const total = page.getByTestId("usage-total-lines");
    await total.waitFor();
    // The demo batches and the marker batch (3 lines), all received today.
    expect(await total.textContent()).toBe(String(seededLines + 3));
    expect(await page.getByTestId("usage-retention").textContent()).toBe("30 days");
    const days = page.getByRole("table").locator("tbody tr");
    expect(await days.count()).toBeGreaterThanOrEqual(1);
    expect(await days.first().getByRole("cell").last().textContent()).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await shot("usage");
  });

  it("live tail shows a new upload within 2 s", async () => {
    // The tail follows from its first poll's cursor: upload once that poll has been answered.
    const firstPoll = page.waitForResponse((response) => new URL(response.url()).pathname === "/v1/tail");
    await page.goto(`${edgeUrl}/tail?app=${demo.id}`);
    await page.getByText("Following new lines").waitFor();
    await firstPoll;
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
    await page.getByLabel("App read or manage key").fill(other.readKey);
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

  it("an ingest key cannot sign in, and the console says to use the read or manage key", async () => {
    const fresh = await browser.newContext({ locale: "en-GB" });
    const signInPage = await fresh.newPage();
    await signInPage.goto(edgeUrl);
    await signInPage.getByLabel("App read or manage key").fill(demo.ingestKey);
    await signInPage.getByRole("button", { name: "Sign in" }).click();
    await signInPage.getByRole("alert").getByText("read or manage key").waitFor();
    await shot("sign-in", signInPage);
    await fresh.close();
  });

  it("a read-key session sees neither Settings nor Erase, and the settings URL says it needs a manage key", async () => {
    const { own, on } = await signedIn(demo.readKey);
    const nav = on.getByRole("navigation", { name: "Views" });
    await nav.getByRole("link", { name: "Usage" }).waitFor();
    expect(await nav.getByRole("link", { name: "Settings" }).count()).toBe(0);
    await on.goto(`${edgeUrl}/devices/demo-iphone-16?app=${demo.id}`);
    await on.getByRole("list", { name: "Lines of device demo-iphone-16" }).getByRole("listitem").first().waitFor();
    expect(await on.getByRole("button", { name: /erase/i }).count()).toBe(0);
    await on.goto(`${edgeUrl}/settings?app=${demo.id}`);
    await on.getByRole("alert").getByText("Managing this app needs a manage key").waitFor();
    expect(await on.getByLabel("Keep batches for (days)").count()).toBe(0);
    await shot("settings-read-key", on);
    await own.close();
  });

  it("a manage-key session sees Settings and Erase; the erase dialog wants the id typed, keeps focus, Esc cancels", async () => {
    const { own, on } = await signedIn(demo.manageKey);
    await on.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Settings" }).click();
    await on.getByRole("heading", { name: "Settings" }).waitFor();
    await on.goto(`${edgeUrl}/devices/demo-iphone-16?app=${demo.id}`);
    const open = on.getByRole("button", { name: "Erase device…" });
    await open.click();
    const dialog = on.getByRole("dialog", { name: "Erase device demo-iphone-16?" });
    await dialog.waitFor();
    await expect.poll(() => on.evaluate(() => document.activeElement?.id)).toBe("erase-confirm");
    const confirm = dialog.getByRole("button", { name: "Erase this device" });
    expect(await confirm.isDisabled()).toBe(true);
    await on.keyboard.type("demo-iphone");
    expect(await confirm.isDisabled()).toBe(true);
    // Tab goes round the dialog's controls and never to the page behind it.
    for (let step = 0; step < 5; step++) {
      await on.keyboard.press("Tab");
      expect(await on.evaluate(() => document.activeElement?.closest("dialog") !== null)).toBe(true);
    }
    await shot("erase-dialog", on);
    await on.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(() => on.evaluate(() => document.activeElement?.textContent)).toBe("Erase device…");
    // Nothing was erased.
    await on.getByRole("list", { name: "Lines of device demo-iphone-16" }).getByRole("listitem").first().waitFor();
    await own.close();
  });

  it("a manage-key session turns a device's logging off and on; the SDK holds its lines, then sends them", async () => {
    // A device of its own: an upload replaces a device's info, and the seeded ones are checked by name.
    const deviceId = `logging-${crypto.randomUUID().slice(0, 8)}`;
    const sdk = init({
      appKey: demo.ingestKey,
      endpoint: edgeUrl,
      dir: mkdtempSync(path.join(tmpdir(), "stormlog-e2e-settings-")),
      device: { id: deviceId },
      settingsIntervalMs: 300,
      flushIntervalMs: 60_000,
      flushOnExit: false,
    });
    try {
      const { own, on } = await signedIn(demo.manageKey);
      await on.goto(`${edgeUrl}/devices/${deviceId}?app=${demo.id}`);
      const panel = on.getByRole("region", { name: "Logging" });
      await panel.getByText("Uploading from trace, by the built-in default.").waitFor();
      await panel.getByLabel("Logging enabled").uncheck();
      await panel.getByLabel("Minimum level").selectOption("info");
      await panel.getByRole("button", { name: "Save" }).click();
      await panel.getByRole("status").getByText("Saved").waitFor();
      await panel.getByText("Not uploading (lines wait on the device), by this device's own settings.").waitFor();
      await shot("device-logging", on);

      // The edge isolate that stored it may not be the one the SDK asks: within its cache's 30 s.
      await expect.poll(() => sdk.settings.enabled, { timeout: 40_000, interval: 200 }).toBe(false);
      sdk.debug("below the minimum level");
      sdk.info("held while disabled");
      expect(await sdk.flush()).toEqual({ delivered: 0, rejected: 0, pending: 1 });

      await panel.getByLabel("Logging enabled").check();
      await panel.getByRole("button", { name: "Save" }).click();
      await panel.getByText("Uploading from info, by this device's own settings.").waitFor();
      await expect.poll(() => sdk.pending.lines, { timeout: 40_000, interval: 200 }).toBe(0);
      await own.close();
    } finally {
      await sdk.close();
    }
  });

  it("a manage-key session changes the app's retention, which Usage then shows", async () => {
    const { own, on } = await signedIn(demo.manageKey);
    await on.goto(`${edgeUrl}/settings?app=${demo.id}`);
    const days = on.getByLabel("Keep batches for (days)");
    await days.waitFor();
    expect(await days.inputValue()).toBe("30");
    await days.fill("45");
    await on.getByRole("button", { name: "Save" }).click();
    await on.getByRole("status").getByText("Saved: batches are kept for 45 days.").waitFor();
    await shot("settings", on);
    await on.getByRole("main").getByRole("link", { name: "Usage" }).click();
    await on.getByTestId("usage-retention").waitFor();
    // Usage may be answered by a region the change has not reached yet: reloaded until it has.
    await expect
      .poll(
        async () => {
          await on.reload();
          return on.getByTestId("usage-retention").textContent();
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toBe("45 days");
    // Back to the default, through the page again.
    await on.goto(`${edgeUrl}/settings?app=${demo.id}`);
    await days.fill("30");
    await on.getByRole("button", { name: "Save" }).click();
    await on.getByRole("status").getByText("Saved: batches are kept for 30 days.").waitFor();
    await own.close();
  });

  it("a manage-key session erases a device in every region and returns to a devices list without it", async () => {
    const deviceId = `erase-me-${crypto.randomUUID().slice(0, 8)}`;
    await upload(demo.ingestKey, deviceId, ["a line to erase"]);
    const { own, on } = await signedIn(demo.manageKey);
    await on.goto(`${edgeUrl}/devices/${deviceId}?app=${demo.id}`);
    await on
      .getByRole("list", { name: `Lines of device ${deviceId}` })
      .getByText("a line to erase")
      .waitFor();
    await on.getByRole("button", { name: "Erase device…" }).click();
    const dialog = on.getByRole("dialog", { name: `Erase device ${deviceId}?` });
    await dialog.getByLabel(`Type ${deviceId} to confirm`).fill(deviceId);
    const requested = on.waitForResponse((response) => response.request().method() === "DELETE");
    await dialog.getByRole("button", { name: "Erase this device" }).click();
    const answer = await requested;
    expect(answer.status()).toBe(202);
    const receipt = erasureReceiptSchema.parse(await answer.json());
    expect(receipt.erasure.deviceId).toBe(deviceId);
    // The dialog follows the receipt until every region has applied it, then goes back to the list.
    await on
      .getByRole("status")
      .getByText(`Device ${deviceId} was erased in every region.`)
      .waitFor({ timeout: 60_000 });
    expect(new URL(on.url()).pathname).toBe("/");
    await on.getByRole("heading", { name: "Devices" }).waitFor();
    await on.getByRole("link", { name: "QA iPhone" }).waitFor();
    expect(await on.getByRole("link", { name: deviceId }).count()).toBe(0);
    await shot("erased", on);

    const read = { headers: { authorization: `Bearer ${demo.readKey}` } };
    const status = erasureStatusSchema.parse(
      await (await fetch(`${edgeUrl}/v1/erasures/${receipt.erasure.id}`, read)).json(),
    );
    expect(status.completed).toBe(true);
    expect(status.regions.map((region) => region.state)).toEqual(["completed", "completed", "completed"]);
    const lines = logPageSchema.parse(await (await fetch(`${edgeUrl}/v1/logs?device=${deviceId}`, read)).json());
    expect(lines.logs).toEqual([]);
    await own.close();
  });

  it("groups one crash from two devices on the Issues page, links its occurrences, and resolves it", async () => {
    const title = `TypeError: e2e-${crypto.randomUUID().slice(0, 8)} is not a function`;
    for (const deviceId of ["crash-a", "crash-b"]) {
      const response = await fetch(`${edgeUrl}/v1/batches`, {
        method: "POST",
        headers: { authorization: `Bearer ${demo.ingestKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          batchId: `e2e-${crypto.randomUUID()}`,
          device: { id: deviceId, appVersion: "3.1.0" },
          logs: [
            {
              ts: new Date().toISOString(),
              level: "fatal",
              text: `${title}\n    at pay (app.js:${deviceId.length}:7)`,
            },
          ],
        }),
      });
      expect(response.status).toBe(202);
    }
    const { own, on } = await signedIn(demo.manageKey);
    await on.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Issues" }).click();
    await on.getByRole("heading", { name: "Issues" }).waitFor();
    const row = on.getByRole("row").filter({ hasText: title });
    await row.waitFor();
    expect(await row.getByRole("cell").nth(3).textContent()).toBe("2");
    expect(await row.getByRole("cell").nth(4).textContent()).toBe("2");
    await shot("issues", on);
    await row.getByRole("link", { name: title }).click();
    await on.getByRole("heading", { name: title }).waitFor();
    await on.getByRole("link", { name: /on device crash-a/ }).waitFor();
    await on.getByRole("button", { name: "Resolve" }).click();
    await on.getByRole("button", { name: "Reopen" }).waitFor();
    await shot("issue", on);
    await on.getByRole("link", { name: /on device crash-b/ }).click();
    await on.getByRole("list", { name: "Lines of device crash-b" }).getByText(title).first().waitFor();
    await own.close();
  });
});
