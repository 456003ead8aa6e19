/**
 * What `npm start` does for the console once the system runs: builds it when console/dist is
 * missing or older than its sources, seeds the demo app with a few devices on its first start (so
 * the console has something to show), and makes a one-time sign-in link for the demo app, which
 * start.ts prints and writes into local.json as `consoleUrl`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { levels } from "../shared/batch.ts";
import { signInLinkSchema } from "../shared/console.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");
export const consoleDist = path.join(repoRoot, "console/dist");

/** The newest modification time under `dir` (dist and node_modules aside). */
function newestMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules") continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMs(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** wrangler dev refuses a missing assets folder: an unbuilt console must not stop the edge. */
export function ensureConsoleFolder(): void {
  mkdirSync(consoleDist, { recursive: true });
}

/** Builds the console when its build is missing or older than console/ or shared/; true if it built. */
export function buildConsoleIfStale(): boolean {
  const index = path.join(consoleDist, "index.html");
  const builtMs = existsSync(index) ? statSync(index).mtimeMs : 0;
  const sourcesMs = Math.max(newestMs(path.join(repoRoot, "console")), newestMs(path.join(repoRoot, "shared")));
  if (builtMs >= sourcesMs) return false;
  const vite = path.join(repoRoot, "node_modules/vite/bin/vite.js");
  const built = spawnSync(
    process.execPath,
    [vite, "build", "--config", "console/vite.config.ts", "--logLevel", "warn"],
    {
      cwd: repoRoot,
      stdio: "inherit",
      // Under vitest NODE_ENV is "test", and vite then builds Preact's development JSX (every
      // element with its absolute source path, 4% larger gzipped): the console is always built as shipped.
      env: { ...process.env, NODE_ENV: "production" },
    },
  );
  if (built.status !== 0) throw new Error("could not build the console (npm run console:build says why)");
  return true;
}

const demoDevices = [
  { id: "demo-pixel-9", name: "Ana's Pixel", model: "Pixel 9", os: "android", osVersion: "16", appVersion: "3.2.0" },
  { id: "demo-iphone-16", name: "QA iPhone", model: "iPhone 16", os: "ios", osVersion: "19.1", appVersion: "3.2.0" },
  { id: "demo-web", name: "Checkout web", model: "Chrome 142", os: "web", osVersion: "linux", appVersion: "3.1.9" },
];
const demoTags = ["startup", "sync", "checkout", "network", "ui"];

/** The demo batches: 15 (5 per device), 12 lines each, every level, tags and attrs, in the last hour. */
export function demoBatches(nowMs: number) {
  return Array.from({ length: 15 }, (_, batch) => {
    const device = demoDevices[batch % demoDevices.length] as (typeof demoDevices)[number];
    const startMs = nowMs - (15 - batch) * 4 * 60_000;
    return {
      batchId: `demo-${device.id}-${batch}`,
      device,
      logs: Array.from({ length: 12 }, (_, index) => {
        const level = levels[(batch + index) % levels.length] as (typeof levels)[number];
        const tag = demoTags[(batch + index) % demoTags.length] as string;
        return {
          ts: new Date(startMs + index * 7_000).toISOString(),
          level,
          tag,
          text: `${tag}: ${level === "error" || level === "fatal" ? "request failed" : "step done"} #${batch}.${index}`,
          attrs: {
            screen: ["home", "cart", "pay"][index % 3],
            attempt: index % 4,
            user: { plan: "pro", beta: batch % 2 === 0 },
          },
        };
      }),
    };
  });
}

/** Uploads the demo batches unless the app has devices already (a second start keeps what it has). */
export async function seedDemoApp(edgeUrl: string, app: { ingestKey: string; readKey: string }): Promise<number> {
  const devices = await fetch(`${edgeUrl}/v1/devices?limit=1`, { headers: { authorization: `Bearer ${app.readKey}` } });
  if (devices.ok && ((await devices.json()) as { devices: unknown[] }).devices.length > 0) return 0;
  const batches = demoBatches(Date.now());
  for (const batch of batches) {
    const response = await fetch(`${edgeUrl}/v1/batches`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.ingestKey}`, "content-type": "application/json" },
      body: JSON.stringify(batch),
    });
    if (!response.ok) throw new Error(`seeding the demo app: ${response.status} ${await response.text()}`);
  }
  return batches.length;
}

/** A one-time sign-in link (5 minutes) for the app whose read key this is. */
export async function consoleSignInUrl(edgeUrl: string, readKey: string): Promise<string> {
  const response = await fetch(`${edgeUrl}/v1/console/sign-in-links`, {
    method: "POST",
    headers: { authorization: `Bearer ${readKey}` },
  });
  if (!response.ok)
    throw new Error(`could not make a console sign-in link: ${response.status} ${await response.text()}`);
  const link = signInLinkSchema.parse(await response.json());
  return `${edgeUrl}${link.path}`;
}
