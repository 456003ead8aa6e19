/**
 * A real browser for cross-tier tests: Debian's Chromium (`/usr/bin/chromium`, installed by
 * .ci/run) driven by playwright-core, and a small static server so test pages have an origin of
 * their own (calls to the edge are then cross-origin, as on a real site, and CORS is exercised).
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type Browser, chromium } from "playwright-core";

export const chromiumPath = "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
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
