/**
 * `npm run bench:edge`: what the edge's work costs. Two Workers run in workerd (each under its own
 * `wrangler dev`), in front of the same stub region (a Node HTTP server that answers 202 at once):
 *
 * - the Stormlog edge (wrangler.toml): key check, bounded read, validation, canonical JSON,
 *   signing, health-aware routing;
 * - a pass-through Worker that only forwards the same body to the same stub.
 *
 * Both get the same uploads (100 lines, ~16 KiB), alternating runs so drift hits both. Reported:
 * uploads per second, and CPU time per upload from the workerd processes' utime+stime
 * (/proc/<pid>/stat) over each run, and the ratios. Then the two routing figures: the extra
 * latency of a fresh edge's first upload when its first region is dead (refused; or silent, which
 * holds the key check's fetch of the revocation list for its 1 s share of the wait, and the next
 * upload is timed too), and how long the health table takes to mark a killed region down with no
 * traffic. The stub is the ingest bench's stand-in (stand-in-region.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../scripts/ports.ts";
import { edgeHealthSchema } from "../shared/health.ts";
import { mintKey, newAppId } from "../shared/keys.ts";
import { groupCpuSeconds, processCpu } from "./process-cpu.ts";
import { standInRegion } from "./stand-in-region.ts";
import { startWorker as startWorkerIn, type Worker } from "./workerd.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");
const runMs = Number(process.env.BENCH_RUN_MS ?? 6000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const keySecret = "bench-key-secret-0123456789abcdef0123";
const edgeSecret = "bench-edge-secret-0123456789abcdef01";
const spoolSecret = "bench-spool-secret-0123456789abcdef";
const work = mkdtempSync(path.join(tmpdir(), "stormlog-bench-"));
const workers: Worker[] = [];

type Stub = { url: string; server: Server };

async function startWorker(name: string, config: string, vars: Record<string, string>): Promise<Worker> {
  const worker = await startWorkerIn(name, config, vars, work);
  workers.push(worker);
  return worker;
}

/** A stand-in region (stand-in-region.ts), or one that reads each request and never answers. */
async function startStub(port = 0, mode: "region" | "silent" = "region"): Promise<Stub> {
  const server = createServer(
    mode === "region"
      ? standInRegion("bench", ["bench"])
      : (req) => {
          req.resume();
        },
  );
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** CPU seconds used so far by every workerd process in a process group. */
function workerdCpuSeconds(group: number): number {
  return groupCpuSeconds(processCpu(), group, (name) => name).workerd ?? 0;
}

/** An upload as an SDK sends it: 100 lines, ~16 KiB. */
function sampleBody(): string {
  return JSON.stringify({
    batchId: crypto.randomUUID(),
    device: { id: "bench-device", model: "Pixel 9", os: "android", osVersion: "16", appVersion: "4.2.0" },
    logs: Array.from({ length: 100 }, (_, index) => ({
      ts: Date.now() - (100 - index) * 1000,
      level: index % 10 === 0 ? "warn" : "info",
      tag: "sync",
      text: `sync step ${index}: fetched page ${index} of the inbox, 25 items, cache hit ratio 0.${index % 10}`,
      attrs: { screen: "inbox", step: index, network: "wifi" },
    })),
  });
}

async function upload(url: string, key: string, body = sampleBody()): Promise<Response> {
  const response = await fetch(`${url}/v1/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body,
  });
  await response.arrayBuffer();
  if (response.status !== 202) throw new Error(`upload answered ${response.status}`);
  return response;
}

async function measure(target: { url: string; group: number }, key: string) {
  const cpuBefore = workerdCpuSeconds(target.group);
  const startedMs = performance.now();
  let uploads = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - startedMs < runMs) {
        await upload(target.url, key);
        uploads += 1;
      }
    }),
  );
  const seconds = (performance.now() - startedMs) / 1000;
  return {
    perSecond: uploads / seconds,
    cpuMsPerUpload: ((workerdCpuSeconds(target.group) - cpuBefore) * 1000) / uploads,
  };
}

/**
 * The first two uploads of a fresh edge to these regions: each one's latency and status. The
 * first also fetches the revocation list, through the same routing, as in production.
 */
async function firstUploads(regions: object[], key: string): Promise<{ ms: number; status: number }[]> {
  const edge = await startWorker("edge-failover", path.join(repoRoot, "wrangler.toml"), {
    REGIONS: JSON.stringify(regions),
    KEY_SECRET: keySecret,
    EDGE_SECRET: edgeSecret,
    SPOOL_SECRET: spoolSecret,
    CONSOLE_SECRET: "bench-console-secret-0123456789abcdef",
  });
  try {
    // Warm the isolate with requests that touch no region, so only the routing differs.
    for (let index = 0; index < 3; index++) await (await fetch(`${edge.url}/warm-up`)).arrayBuffer();
    const uploads: { ms: number; status: number }[] = [];
    for (let index = 0; index < 2; index++) {
      const startedMs = performance.now();
      const response = await fetch(`${edge.url}/v1/batches`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: sampleBody(),
      });
      await response.arrayBuffer();
      uploads.push({ ms: performance.now() - startedMs, status: response.status });
    }
    return uploads;
  } finally {
    await edge.stop();
  }
}

/** An upload's latency, once it was accepted. */
function accepted(upload: { ms: number; status: number } | undefined): number {
  if (upload?.status !== 202) throw new Error(`upload answered ${upload?.status}`);
  return upload.ms;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

async function main(): Promise<void> {
  const stub = await startStub();
  const key = await mintKey(keySecret, newAppId(), "ingest");
  const location = { lat: 53.35, lon: -6.26 };
  const region = { name: "bench", url: stub.url, location };
  const edge = await startWorker("edge", path.join(repoRoot, "wrangler.toml"), {
    REGIONS: JSON.stringify([region]),
    KEY_SECRET: keySecret,
    EDGE_SECRET: edgeSecret,
    SPOOL_SECRET: spoolSecret,
    CONSOLE_SECRET: "bench-console-secret-0123456789abcdef",
  });
  const passDir = mkdtempSync(path.join(work, "pass-through-"));
  writeFileSync(
    path.join(passDir, "index.js"),
    `export default { async fetch(request, env) {
  if (request.method !== "POST") return new Response("ok");
  return fetch(env.UPSTREAM, { method: "POST", headers: { "content-type": "application/json" }, body: await request.arrayBuffer() });
} };\n`,
  );
  writeFileSync(
    path.join(passDir, "wrangler.toml"),
    `name = "pass-through"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n`,
  );
  const pass = await startWorker("pass-through", path.join(passDir, "wrangler.toml"), {
    UPSTREAM: `${stub.url}/internal/v1/apps/bench/batches`,
  });

  console.log(`bench:edge  ${runMs} ms per run, ${concurrency} concurrent uploads of ${sampleBody().length} bytes`);
  for (let index = 0; index < 200; index++) await Promise.all([upload(edge.url, key), upload(pass.url, key)]);
  const runs = { edge: [] as Awaited<ReturnType<typeof measure>>[], pass: [] as Awaited<ReturnType<typeof measure>>[] };
  for (let round = 0; round < 2; round++) {
    runs.edge.push(await measure(edge, key));
    runs.pass.push(await measure(pass, key));
  }
  const mean = (list: { perSecond: number; cpuMsPerUpload: number }[], field: "perSecond" | "cpuMsPerUpload") =>
    list.reduce((total, run) => total + run[field], 0) / list.length;
  const edgeRate = mean(runs.edge, "perSecond");
  const passRate = mean(runs.pass, "perSecond");
  const edgeCpu = mean(runs.edge, "cpuMsPerUpload");
  const passCpu = mean(runs.pass, "cpuMsPerUpload");
  console.log(`  edge          ${round(edgeRate, 0)} uploads/s   ${round(edgeCpu)} ms CPU per upload`);
  console.log(`  pass-through  ${round(passRate, 0)} uploads/s   ${round(passCpu)} ms CPU per upload`);
  console.log(`  ratio         ${round(passRate / edgeRate)}x throughput, ${round(edgeCpu / passCpu)}x CPU per upload`);

  const sequential: number[] = [];
  for (let index = 0; index < 50; index++) {
    const startedMs = performance.now();
    await upload(edge.url, key);
    sequential.push(performance.now() - startedMs);
  }
  await Promise.all([edge.stop(), pass.stop()]);

  // The first upload after the first region died, before anything (breaker, table) knew.
  const refused = { name: "dead", url: `http://127.0.0.1:${await freePort()}`, location };
  const silentStub = await startStub(0, "silent");
  const firstHealthy: number[] = [];
  const firstRefused: number[] = [];
  for (let index = 0; index < 5; index++) {
    firstHealthy.push(accepted((await firstUploads([region], key))[0]));
    firstRefused.push(accepted((await firstUploads([refused, region], key))[0]));
  }
  // The key check waits at most 2 s for the revocation list (edge/revocations.ts), of which the
  // silent region gets 1 s before the next region is asked; the next upload finds the silent
  // region's breaker open.
  const [silentFirst, silentNext] = await firstUploads(
    [{ name: "silent", url: silentStub.url, location }, region],
    key,
  );
  const healthy = median(firstHealthy);
  const spread = (values: number[]) => `${round(Math.min(...values), 0)}-${round(Math.max(...values), 0)}`;
  console.log(`  upload latency, warm, sequential: median ${round(median(sequential), 1)} ms`);
  console.log("  first upload of a fresh edge (median of 5, range), first region:");
  console.log(`    healthy                 ${round(healthy, 0)} ms (${spread(firstHealthy)})`);
  console.log(`    refuses connections     ${round(median(firstRefused), 0)} ms (${spread(firstRefused)})`);
  console.log(
    `    accepts, never answers  ${round(silentFirst?.ms ?? 0, 0)} ms, answered ${silentFirst?.status}; the next upload ${round(silentNext?.ms ?? 0, 0)} ms, answered ${silentNext?.status}`,
  );

  // No traffic: only the probes (every second here) can notice.
  const victim = await startStub();
  const probing = await startWorker("edge-probe", path.join(repoRoot, "wrangler.toml"), {
    REGIONS: JSON.stringify([{ name: "victim", url: victim.url, location }, region]),
    KEY_SECRET: keySecret,
    EDGE_SECRET: edgeSecret,
    SPOOL_SECRET: spoolSecret,
    CONSOLE_SECRET: "bench-console-secret-0123456789abcdef",
    HEALTH_PROBE_INTERVAL_MS: "1000",
  });
  const statusOfVictim = async () => {
    const health = edgeHealthSchema.parse(await (await fetch(`${probing.url}/v1/health`)).json());
    return health.regions[0]?.status;
  };
  while ((await statusOfVictim()) !== "up") await sleep(100);
  victim.server.closeAllConnections();
  await new Promise((resolve) => victim.server.close(resolve));
  const killedMs = performance.now();
  while ((await statusOfVictim()) !== "down") await sleep(20);
  console.log(
    `  a region killed with no traffic is marked down after ${round(performance.now() - killedMs, 0)} ms (probe every 1000 ms)`,
  );
  await probing.stop();
  silentStub.server.closeAllConnections();
  await Promise.all([stub, silentStub].map((server) => new Promise((resolve) => server.server.close(resolve))));
}

try {
  await main();
} finally {
  await Promise.all(workers.map((worker) => worker.stop()));
  rmSync(work, { recursive: true, force: true });
}
