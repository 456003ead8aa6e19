/**
 * `npm start`: the whole Stormlog system on this machine, until Ctrl-C.
 * Region names come from STORMLOG_LOCAL_REGIONS (comma-separated), default eu-west,us-east,ap-south.
 */
import { LocalSystem } from "./local-system.ts";

const regionNames = process.env.STORMLOG_LOCAL_REGIONS?.split(",").map((name) => name.trim());

console.log("Starting Stormlog: three regional workers, then the edge on workerd…");
const system = await LocalSystem.start({ dir: ".stormlog", regionNames }).catch((error: unknown) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
const { edgeUrl, regions, app } = system.info;
const example = JSON.stringify({
  batchId: "demo-batch-0001",
  device: { id: "demo-device", model: "curl" },
  logs: [{ ts: "2026-01-01T12:00:00Z", level: "info", text: "hello from curl" }],
});

console.log(`
Stormlog is running (details in .stormlog/local.json).
  edge     ${edgeUrl}
${regions.map((region) => `  region   ${region.name.padEnd(9)} ${region.url}  (admin ${region.adminUrl})`).join("\n")}
  app      ${app.id}
  ingest   ${app.ingestKey}
  read     ${app.readKey}

Upload a batch:
  curl -sS -X POST ${edgeUrl}/v1/batches \\
    -H 'Authorization: Bearer ${app.ingestKey}' \\
    -H 'Content-Type: application/json' \\
    -d '${example}'

Read it back:
  curl -sS '${edgeUrl}/v1/logs?device=demo-device' -H 'Authorization: Bearer ${app.readKey}'

Press Ctrl-C to stop.`);

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nStopping Stormlog…");
    await system.stop();
    console.log("Stopped.");
  }
  process.exit(code);
}
system.onUnexpectedExit = (source, code) => {
  console.error(`${source} exited unexpectedly (code ${code}); stopping everything.`);
  void shutdown(1);
};
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
