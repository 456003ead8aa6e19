/**
 * `npm run chaos [-- --duration <s>] [--clients <n>] [--db pglite|postgres]`: the fault harness.
 * Starts three regions and the edge (scripts/local-system.ts) with a fault-injecting proxy on every
 * region-to-region link, drives uploads with unique batch ids from concurrent clients through the
 * edge, and meanwhile injects faults in turn: a region killed (SIGKILL) and restarted, a region
 * cut off from its peers, a region paused (SIGSTOP, then SIGCONT). After healing it waits for the
 * regions to converge and checks: lost = acknowledged − present in every region (must be 0),
 * duplicates (0), digests equal (and how long that took); it prints those with the ack latency
 * p50/p99, and exits 1 on any loss, duplicate or divergence. `--db postgres` gives each region a
 * database and a key-store database on the server at DATABASE_URL (bench/scratch-databases.ts),
 * dropped at the end.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { verify } from "../regional/admin/cluster.ts";
import { LocalSystem } from "../scripts/local-system.ts";
import { freePort } from "../scripts/ports.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { type Holdings, holdings, percentile } from "./holdings.ts";
import { exit, interrupted, stopOnInterrupt } from "./interrupt.ts";
import { createScratchDatabase, dropScratchDatabases, scratchName } from "./scratch-databases.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "60" },
    clients: { type: "string", default: "6" },
    "converge-timeout": { type: "string", default: "120" },
    keep: { type: "boolean", default: false },
    db: { type: "string", default: "pglite" },
  },
});
const durationMs = Number(values.duration) * 1000;
const clients = Number(values.clients);
const convergeTimeoutMs = Number(values["converge-timeout"]) * 1000;
if (!(durationMs > 0 && clients > 0 && convergeTimeoutMs > 0) || !["pglite", "postgres"].includes(values.db)) {
  console.error(
    "usage: npm run chaos -- [--duration <seconds>] [--clients <n>] [--converge-timeout <seconds>] [--db pglite|postgres]",
  );
  process.exit(2);
}

const names = ["eu-west", "us-east", "ap-south"];
const dir = await mkdtemp(path.join(tmpdir(), "stormlog-chaos-"));
const regionPorts = await Promise.all(names.map(() => freePort()));
const proxies = new Map<string, FaultProxy>();
for (const [fromIndex, from] of names.entries()) {
  for (const [toIndex, to] of names.entries()) {
    if (fromIndex !== toIndex) proxies.set(`${from}>${to}`, await startFaultProxy(regionPorts[toIndex] as number));
  }
}
const output: string[] = [];
const log = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

// Per region on PostgreSQL: its database and its key store's.
const databases = new Map<string, Record<string, string>>();
if (values.db === "postgres") {
  for (const name of names) {
    const data = scratchName(`stormlog_chaos_${name.replaceAll("-", "_")}`);
    databases.set(name, {
      DATABASE_URL: await createScratchDatabase(data),
      STORMLOG_KEYSTORE_DATABASE_URL: await createScratchDatabase(`${data}_keys`),
    });
  }
}

function dropDatabases(): Promise<void> {
  const urls = [...databases.values()].flatMap((env) => Object.values(env));
  return dropScratchDatabases(urls.map((url) => new URL(url).pathname.slice(1)));
}

log(`starting three regions and the edge on ${values.db} in ${dir}`);
const starting = LocalSystem.start({
  dir,
  regionNames: names,
  edgePort: await freePort(),
  inspectorPort: await freePort(),
  regionPorts,
  adminPorts: await Promise.all(names.map(() => freePort())),
  output: (source, line) => {
    output.push(`[${source}] ${line}`);
    if (output.length > 2000) output.shift();
  },
  peerUrl: (from, to) => `http://127.0.0.1:${proxies.get(`${from}>${to.name}`)?.port}`,
  regionEnv: (name) => ({
    STORMLOG_LOG_LEVEL: "warn",
    STORMLOG_OUTBOX_BACKOFF_MAX_MS: "3000",
    STORMLOG_ANTI_ENTROPY_INTERVAL_MS: "5000",
    STORMLOG_PEER_TIMEOUT_MS: "3000",
    ...databases.get(name),
  }),
});
const paused = new Set<string>();
const forget = stopOnInterrupt(async () => {
  const started = await starting;
  for (const region of paused) started.signalRegion(region, "SIGCONT");
  await started.stop();
  if (!values.keep) await dropDatabases();
});
const system = await starting.catch(async (error: unknown) => {
  forget();
  await dropDatabases();
  throw error;
});
let failed = false;
system.onUnexpectedExit = (source, code) => {
  if (source === "edge") {
    failed = true;
    log(`the edge exited unexpectedly (code ${code})`);
  }
};

try {
  const { edgeUrl, app } = system.info;
  const acknowledged = new Set<string>();
  const latenciesMs: number[] = [];
  const answers = new Map<string, number>();
  let running = true;
  let spooled = 0;

  async function client(index: number): Promise<void> {
    let sequence = 0;
    while (running) {
      const batchId = `chaos-${index}-${sequence++}-${crypto.randomUUID().slice(0, 8)}`;
      const body = JSON.stringify({
        batchId,
        device: { id: `chaos-device-${index}`, model: "chaos" },
        logs: Array.from({ length: 20 }, (_, line) => ({
          ts: Date.now(),
          level: line % 7 === 0 ? "error" : "info",
          text: `chaos client ${index} batch ${sequence} line ${line}`,
        })),
      });
      // An SDK keeps a batch until it is acknowledged; here a few tries, then the next batch.
      for (let attempt = 0; attempt < 5 && running; attempt++) {
        const startedMs = performance.now();
        let status = 0;
        try {
          const response = await fetch(`${edgeUrl}/v1/batches`, {
            method: "POST",
            headers: { authorization: `Bearer ${app.ingestKey}`, "content-type": "application/json" },
            body,
            signal: AbortSignal.timeout(15_000),
          });
          status = response.status;
          // The edge may keep a batch in its spool when no region can take it: acknowledged
          // too, and held to the same standard (it must reach every region).
          const answer = (await response.json().catch(() => ({}))) as { spooled?: boolean };
          if (status === 202 && answer.spooled) spooled += 1;
        } catch {
          status = 0;
        }
        answers.set(String(status), (answers.get(String(status)) ?? 0) + 1);
        if (status === 202) {
          latenciesMs.push(performance.now() - startedMs);
          acknowledged.add(`${app.id}/${batchId}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
      }
    }
  }

  const cutOff = (name: string, cut: boolean) => {
    for (const [link, proxy] of proxies) if (link.split(">").includes(name)) proxy.setCut(cut);
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const faults: { name: string; run(region: string): Promise<void> }[] = [
    {
      name: "SIGKILL and restart",
      async run(region) {
        system.signalRegion(region, "SIGKILL");
        await sleep(4000);
        await system.startRegion(region);
      },
    },
    {
      name: "cut off from its peers",
      async run(region) {
        cutOff(region, true);
        await sleep(8000);
        cutOff(region, false);
      },
    },
    {
      name: "SIGSTOP, then SIGCONT",
      async run(region) {
        paused.add(region);
        system.signalRegion(region, "SIGSTOP");
        await sleep(5000);
        system.signalRegion(region, "SIGCONT");
        paused.delete(region);
      },
    },
  ];

  // Hit the region the edge prefers first (its health says which, when it routes by health).
  const edgeHealth = (await fetch(`${edgeUrl}/v1/health`)
    .then((response) => response.json())
    .catch(() => ({}))) as { order?: unknown };
  const preferred = Array.isArray(edgeHealth.order) ? edgeHealth.order.filter((name) => names.includes(name)) : [];
  const targets = [...preferred, ...names.filter((name) => !preferred.includes(name))];

  const startedMs = Date.now();
  log(`driving uploads from ${clients} clients for ${durationMs / 1000} s, with faults`);
  const workers = Array.from({ length: clients }, (_, index) => client(index));
  let round = 0;
  const faultCounts = new Map<string, number>();
  while (Date.now() - startedMs < durationMs - 12_000 && !failed) {
    await sleep(3000);
    // Every fault hits every region in turn, the edge's first choice first.
    const fault = faults[round % faults.length] as (typeof faults)[number];
    const region = targets[Math.floor(round / faults.length) % targets.length] as string;
    log(`fault: ${region} ${fault.name}`);
    await fault.run(region);
    faultCounts.set(fault.name, (faultCounts.get(fault.name) ?? 0) + 1);
    round += 1;
  }
  while (Date.now() - startedMs < durationMs) await sleep(200);
  running = false;
  await Promise.all(workers);
  const healedMs = Date.now();
  log(`load stopped; all faults healed; ${acknowledged.size} batches acknowledged; waiting for convergence`);

  const { peerSecret } = JSON.parse(readFileSync(path.join(dir, "secrets.json"), "utf8")) as { peerSecret: string };
  const cluster = system.adminCluster();
  // Converged: every region's digest is equal and holds every acknowledged batch (spooled ones
  // included, which the edge delivers on its own schedule).
  const missing = (held: Holdings[]) => [...acknowledged].filter((id) => !held.every((region) => region.ids.has(id)));
  let converged = false;
  let held: Holdings[] = [];
  while (Date.now() - healedMs < convergeTimeoutMs) {
    const result = await verify(cluster);
    if (result.converged) {
      held = await Promise.all(system.info.regions.map((region) => holdings(region, peerSecret)));
      if (missing(held).length === 0) {
        converged = true;
        break;
      }
    }
    await sleep(500);
  }
  const convergedAfterMs = Date.now() - healedMs;
  if (!converged) held = await Promise.all(system.info.regions.map((region) => holdings(region, peerSecret)));
  const lost = missing(held).length;
  const duplicates = held.reduce((sum, region) => sum + (region.rows - region.ids.size), 0);

  const report = {
    durationS: durationMs / 1000,
    clients,
    faults: Object.fromEntries(faultCounts),
    answers: Object.fromEntries(answers),
    acknowledged: acknowledged.size,
    spooled,
    perRegion: Object.fromEntries(system.info.regions.map((region, index) => [region.name, held[index]?.ids.size])),
    lost,
    duplicates,
    converged,
    convergenceMs: converged ? convergedAfterMs : null,
    ackLatencyMs: {
      p50: Math.round(percentile(latenciesMs, 50)),
      p99: Math.round(percentile(latenciesMs, 99)),
    },
  };
  console.log(JSON.stringify(report, null, 2));
  failed ||= lost > 0 || duplicates > 0 || !converged || acknowledged.size === 0;
  if (failed) {
    console.error(`last region output:\n${output.slice(-60).join("\n")}`);
    for (const region of system.info.regions) {
      const health = await fetch(`${region.url}/v1/health`).then((response) => response.text(), String);
      console.error(`${region.name} health: ${health}`);
    }
  }
  log(failed ? "FAILED" : "passed: nothing lost, no duplicates, regions converged");
} catch (error) {
  failed = true;
  // Interrupted, the step failed because its system was stopped: nothing to report.
  if (!interrupted()) {
    console.error(output.slice(-200).join("\n"));
    console.error(error);
  }
} finally {
  forget();
  for (const region of paused) system.signalRegion(region, "SIGCONT");
  await system.stop();
  await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
  if (!values.keep) {
    await rm(dir, { recursive: true, force: true });
    await dropDatabases();
  }
}
await exit(failed ? 1 : 0);
