/**
 * `npm start`: the whole Stormlog system on this machine, until Ctrl-C. A region or the edge that
 * exits is restarted with backoff by scripts/supervisor.ts while the others carry on, and
 * `npm run region` drives it through the control channel of scripts/control.ts. The folder,
 * region names and ports come from the STORMLOG_LOCAL_* variables (scripts/local-config.ts).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { buildConsoleIfStale, consoleSignInUrl, seedDemoApp } from "./console-setup.ts";
import { readControlFile, startControl } from "./control.ts";
import { type LocalConfig, loadLocalConfig } from "./local-config.ts";
import { LocalSystem } from "./local-system.ts";
import { Supervisor } from "./supervisor.ts";

function fail(error: unknown): never {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

let config: LocalConfig;
try {
  config = loadLocalConfig();
} catch (error) {
  fail(error);
}
// Two systems on one folder would open the same databases.
const previous = readControlFile(config.dir);
if (previous.ok) {
  const answer = await fetch(`${previous.value.url}/v1/processes`, {
    headers: { authorization: `Bearer ${previous.value.token}` },
    signal: AbortSignal.timeout(2000),
  }).catch(() => null);
  if (answer?.ok) {
    fail(
      `npm start (pid ${previous.value.pid}) is already running in ${config.dir}; stop it first, or set STORMLOG_LOCAL_DIR and the STORMLOG_LOCAL_*_PORT(S) variables to run another beside it`,
    );
  }
}

// Ctrl-C, a kill, or the terminal closing (SIGHUP) stop every process, even during start-up: then
// once start returns. The children lead their own sessions, so only this process hears them.
let signalled = false;
let stop: (() => Promise<never>) | null = null;
function onSignal(): void {
  if (signalled) return;
  signalled = true;
  void stop?.();
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
// After SIGHUP the terminal is gone and writing to it fails; stopping matters more than printing.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});

try {
  if (buildConsoleIfStale()) console.log("Built the console (console/dist).");
} catch (error) {
  fail(error);
}
console.log("Starting Stormlog: three regional workers, then the edge on workerd…");
const system = await LocalSystem.start(config).catch(fail);
const supervisor = new Supervisor(system, (line) => console.log(`[supervisor] ${line}`));
const control = await startControl(supervisor, config.dir);
stop = async () => {
  console.log("\nStopping Stormlog…");
  supervisor.close();
  await control.close();
  await system.stop();
  console.log("Stopped.");
  process.exit(0);
};
if (signalled) await stop();

const { edgeUrl, regions, app } = system.info;
// The console: demo lines on a first start, and a one-time link that opens it signed in.
const seeded = await seedDemoApp(edgeUrl, app).catch((error: unknown) => {
  console.error(`could not seed the demo app: ${error instanceof Error ? error.message : String(error)}`);
  return 0;
});
// Signed in with the manage key: the person who ran `npm start` owns the demo app.
const consoleUrl = await consoleSignInUrl(edgeUrl, app.manageKey).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  return null;
});
if (consoleUrl) {
  system.info.consoleUrl = consoleUrl;
  writeFileSync(path.join(config.dir, "local.json"), `${JSON.stringify(system.info, null, 2)}\n`, { mode: 0o600 });
}
const example = JSON.stringify({
  batchId: "demo-batch-0001",
  device: { id: "demo-device", model: "curl" },
  logs: [{ ts: "2026-01-01T12:00:00Z", level: "info", text: "hello from curl" }],
});
// The region uploads go to first, to name in the hint.
const health = (await fetch(`${edgeUrl}/v1/health`)
  .then((response) => response.json())
  .catch(() => null)) as { order?: string[] } | null;
const preferred = health?.order?.[0] ?? regions[0]?.name;
const prefix = config.dir === ".stormlog" ? "" : `STORMLOG_LOCAL_DIR=${config.dir} `;
const hints = [
  [`npm run region -- kill ${preferred}`, "crash it (SIGKILL): it is restarted, with backoff"],
  [`npm run region -- stop ${preferred}`, "drain it (SIGTERM): it stays down until start"],
  [`npm run region -- start ${preferred}`, "bring it back"],
  ["npm run region -- status", "every process: up, restarting or stopped"],
  ["npm run admin -- verify", "every region holds the same batches"],
].map(([command, why]) => `  ${`${prefix}${command}`.padEnd(prefix.length + 40)}${why}`);

console.log(`
Stormlog is running (details in ${config.dir}/local.json).
  console  ${consoleUrl ?? "(no sign-in link: see above)"}
           one-time sign-in link for the demo app, valid 5 minutes${seeded > 0 ? `; seeded ${seeded} demo batches` : ""}
  edge     ${edgeUrl}
${regions.map((region) => `  region   ${region.name.padEnd(9)} ${region.url}  (admin ${region.adminUrl})`).join("\n")}
  app      ${app.id}
  ingest   ${app.ingestKey}
  read     ${app.readKey}
  manage   ${app.manageKey}

Upload a batch:
  curl -sS -X POST ${edgeUrl}/v1/batches \\
    -H 'Authorization: Bearer ${app.ingestKey}' \\
    -H 'Content-Type: application/json' \\
    -d '${example}'

Read it back:
  curl -sS '${edgeUrl}/v1/logs?device=demo-device' -H 'Authorization: Bearer ${app.readKey}'

Take a region down, keep uploading and reading, and bring it back:
${hints.join("\n")}

Press Ctrl-C to stop.`);
