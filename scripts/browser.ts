/**
 * A real browser for cross-tier tests and the console benchmark, driven by playwright-core (which downloads no browser of
 * its own): Debian's Chromium at `/usr/bin/chromium` when the machine has it, else the headless
 * Chromium shipped inside the npm package `@sparticuz/chromium`, so `npm install && npm test`
 * needs nothing but Node. Also a small static server so test pages have an origin of their own
 * (calls to the edge are then cross-origin, as on a real site, and CORS is exercised).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";

export const systemChromiumPath = "/usr/bin/chromium";
const repoRoot = path.resolve(import.meta.dirname, "..");

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: existsSync(systemChromiumPath) ? systemChromiumPath : await bundledChromium(),
    headless: true,
    // Not @sparticuz/chromium's own `args`: they include --disable-web-security, which would
    // switch off the CORS checks these tests rely on. These keep Chromium off the network.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * The path of @sparticuz/chromium's binary, unpacked once per package version into a folder of
 * its own under the temp folder. The package unpacks into `os.tmpdir()` in place, so a second test
 * process starting at the same moment could launch a half-written binary: each unpacks into a
 * fresh staging folder instead (a child process with TMPDIR pointing there), and one rename
 * publishes it whole; a process that loses the race drops its copy.
 */
export async function bundledChromium(cacheDir = tmpdir()): Promise<string> {
  const packageDir = path.join(repoRoot, "node_modules/@sparticuz/chromium");
  const { version } = JSON.parse(await readFile(path.join(packageDir, "package.json"), "utf8")) as { version: string };
  const target = path.join(cacheDir, `stormlog-chromium-${version}`);
  const binary = path.join(target, "chromium");
  if (existsSync(binary)) return binary;
  const staging = await mkdtemp(`${target}.unpacking-`);
  try {
    const script = 'const { default: c } = await import("@sparticuz/chromium"); await c.executablePath();';
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: repoRoot,
      env: { ...process.env, TMPDIR: staging },
    });
    await rename(staging, target);
  } catch (error) {
    if (!existsSync(binary)) throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return binary;
}

export type StaticSite = { url: string; close(): Promise<void> };

/** Serves `files` (URL path → file on disk, or inline HTML) on 127.0.0.1. */
export async function serveStatic(files: Record<string, { file: string } | { html: string }>): Promise<StaticSite> {
  const server: Server = createServer(async (req, res) => {
    const entry = files[new URL(req.url ?? "/", "http://site").pathname];
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    if ("html" in entry) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(entry.html);
      return;
    }
    res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(await readFile(entry.file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    // localhost, not 127.0.0.1: another origin than the edge's, so every call is cross-origin.
    url: `http://localhost:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
