/** Helpers for cross-tier tests: a whole local system in a temp folder, on free ports. */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { copyMigratedPglite } from "../regional/testing/pglite-template.ts";
import { defaultRegionNames } from "../scripts/local-config.ts";
import { type LocalInfo, LocalSystem, type LocalSystemOptions, regionFolders } from "../scripts/local-system.ts";
import { withFreePorts } from "../scripts/ports.ts";

export type TestSystem = { system: LocalSystem; dir: string; output: string[]; options: LocalSystemOptions };

/**
 * Starts three regions and the edge on free ports; their output is kept and printed only if a test
 * fails. A start that lost a port to another process is tried again on fresh ports. The regions'
 * PGlite folders start as copies of migrated ones (regional/testing/pglite-template.ts), where
 * LocalSystem keeps them (`regionFolders`); `npm start`'s own first start, from nothing, is test/start.e2e.test.ts's.
 */
export function startTestSystem(overrides: Partial<LocalSystemOptions> = {}): Promise<TestSystem> {
  return withFreePorts(8, async ([edgePort, inspectorPort, ...regional]) => {
    const dir = await mkdtemp(path.join(tmpdir(), "stormlog-e2e-"));
    for (const name of overrides.regionNames ?? defaultRegionNames) {
      const { dataDir, keystoreDir } = regionFolders(dir, name);
      await copyMigratedPglite(dataDir, keystoreDir);
    }
    const output: string[] = [];
    const options: LocalSystemOptions = {
      dir,
      edgePort,
      inspectorPort,
      regionPorts: regional.slice(0, 3),
      adminPorts: regional.slice(3),
      output: (source, line) => output.push(`[${source}] ${line}`),
      ...overrides,
    };
    const system = await LocalSystem.start(options).catch((error: unknown) => {
      console.error(output.join("\n"));
      throw error;
    });
    return { system, dir, output, options };
  });
}

/** Polls `check` until it returns a value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** One upload a stream sent, and what came of it (status 0: no answer at all). */
export type SentUpload = {
  batchId: string;
  startedMs: number;
  ms: number;
  status: number;
  region: string | null;
  spooled: boolean;
};

/**
 * `concurrency` clients uploading one small batch after another through the edge until stopped;
 * every outcome is kept, so a test can check that none failed and where each went. `system` is a
 * LocalSystem, or what `npm start` wrote to local.json.
 */
export function uploadStream(
  system: { info: Pick<LocalInfo, "edgeUrl" | "app"> },
  options: { concurrency: number; deviceId: string },
) {
  const sent: SentUpload[] = [];
  let running = true;
  const client = async () => {
    while (running) {
      const batchId = `${options.deviceId}-${crypto.randomUUID()}`;
      const startedMs = performance.now();
      const response = await fetch(`${system.info.edgeUrl}/v1/batches`, {
        method: "POST",
        headers: { authorization: `Bearer ${system.info.app.ingestKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          batchId,
          device: { id: options.deviceId },
          logs: [{ ts: Date.now(), level: "info", text: batchId }],
        }),
      }).catch(() => null);
      const body = response ? ((await response.json().catch(() => ({}))) as { spooled?: boolean }) : {};
      sent.push({
        batchId,
        startedMs,
        ms: performance.now() - startedMs,
        status: response?.status ?? 0,
        region: response?.headers.get("x-stormlog-region") ?? null,
        spooled: body.spooled === true,
      });
    }
  };
  const clients = Array.from({ length: options.concurrency }, client);
  return {
    sent,
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return sent;
    },
  };
}
