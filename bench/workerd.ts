/**
 * A Worker under `wrangler dev` (workerd) for benches: started in its own process group, so its
 * CPU can be read per process (process-cpu.ts: workerd apart from wrangler's own Node and
 * esbuild, which a deployed Worker does not run) and the whole group stopped at once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureConsoleFolder } from "../scripts/console-setup.ts";
import { freePort } from "../scripts/ports.ts";
import { stopOnInterrupt } from "./interrupt.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");

export type Worker = { url: string; group: number; stop: () => Promise<void> };

/**
 * `wrangler dev` on `config` with these vars, its files in a new folder under `work`; resolves
 * once `/v1/health` answers. Free ports unless `options` names them.
 * @example const edge = await startWorker("edge", "wrangler.toml", vars, tmp, { port: 9810, inspectorPort: 9811 });
 */
export async function startWorker(
  name: string,
  config: string,
  vars: Record<string, string>,
  work: string,
  options: { port?: number; inspectorPort?: number; logLevel?: "error" | "warn" } = {},
): Promise<Worker> {
  // wrangler.toml serves console/dist as assets, and wrangler dev does not start without the
  // folder, which a fresh clone lacks until the console is built.
  ensureConsoleFolder();
  const dir = mkdtempSync(path.join(work, `${name}-`));
  const envFile = path.join(dir, "vars.env");
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([key, value]) => `${key}='${value}'\n`)
      .join(""),
    { mode: 0o600 },
  );
  const port = options.port ?? (await freePort());
  const inspectorPort = options.inspectorPort ?? (await freePort());
  const wrangler = path.join(repoRoot, "node_modules/wrangler/bin/wrangler.js");
  const args = [wrangler, "dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--inspector-port", String(inspectorPort), "--env-file", envFile, "--persist-to", dir);
  args.push("--show-interactive-dev-session=false", "--log-level", options.logLevel ?? "error");
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    detached: true,
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  const url = `http://127.0.0.1:${port}`;
  const forget = stopOnInterrupt(() => stopGroup(child));
  const stop = () => {
    forget();
    return stopGroup(child);
  };
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) break;
    const answered = await fetch(`${url}/v1/health`).then(
      () => true,
      () => false,
    );
    if (answered) return { url, group: child.pid as number, stop };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`${name} did not start on port ${port}`);
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    try {
      process.kill(-(child.pid as number), "SIGTERM");
    } catch {
      resolve();
    }
  });
}
