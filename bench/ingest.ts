/**
 * `npm run bench:ingest [-- --db pglite|postgres|pglite,postgres] [--batch-lines 100,500]
 * [--duration <s per step>] [--warmup <s>] [--clients 2,4,8,16,32,64,128] [--runs <n>] [--port-base <port>]
 * [--partitions <days>]`:
 * what ingest costs, all on this machine. Prints JSON (progress goes to stderr), per database and
 * batch size:
 *
 * - end to end: this process → the edge on workerd (`wrangler dev`) → three regions with the ack
 *   quorum (scripts/local-system.ts), at the measured maximum: the number of clients uploading
 *   back to back is stepped (2, 4, 8, …), each step warmed up then measured, until lines/s stops
 *   rising (two steps in a row short of the best by 5%); then ack latency again at half that
 *   rate, sent open-loop (a fixed rate, not waiting for answers), so it is latency without the
 *   queueing of saturation; beside both, the regions' own p50/p99 (`regions`: their
 *   `stormlog_ack_seconds` histograms, from an upload's arrival at a region to its answer,
 *   interpolated within buckets), the part of the latency spent past the edge;
 * - the ceiling: the same edge on workerd with its regions replaced by a stand-in that acks at
 *   once (stand-in-region.ts), measured the same way; and end to end / ceiling; then the edge
 *   alone's ack latency and CPU per batch at end to end's half-load rate (`atEndToEndHalf`): the
 *   part of that p99 the regions cannot take away (it runs after end to end, to know the rate);
 * - CPU ms per acknowledged batch of each tier over the maximum step, from the processes' own
 *   counters (tiers.ts): each region's `/metrics` (or /proc when it has none), workerd and
 *   wrangler's own processes from /proc, PostgreSQL's backends for the bench's databases, this
 *   process's process.cpuUsage(); and over the half-load step (`atHalf`), with the share of the
 *   machine's cores that step kept busy;
 * - the regions' count of accepted uploads and lines beside the client's, over that window and
 *   over the whole run;
 * - `cpuModel`: how busy each run kept the machine's cores, and the regions' budget: what the
 *   regions with their databases may cost per batch for end to end to run at 0.8 of the ceiling's
 *   rate with every core busy;
 * - the regions' own work in this process (`regionsInProcess`, regions-in-process.ts): an origin's
 *   parse and store and a peer's apply, groups of 1 and of 10, no HTTP and nothing else on the
 *   cores: the floor under the `regions` figure, to read the targets against.
 *
 * Lines are realistic (lines.ts); their zstd ratio is printed. `--runs n` repeats everything and
 * adds each figure's min/median/max. `--db postgres` creates a database and a key-store database
 * per region on the server at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * and drops them at the end. `--port-base p` puts everything on ports p to p+12 (else free ports).
 * The regions start as a month of the default retention leaves them, with a partition for each of
 * the next 31 days (`--partitions 0`: fresh, as before this option; see `monthOld`).
 * The machine's core count and load average are in the output: on a shared machine, read the
 * figures beside them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { openDatabase } from "../regional/db/client.ts";
import { dayOf, ensurePartitions } from "../regional/store/partitions.ts";
import { defaultRegionNames } from "../scripts/local-config.ts";
import { defaultLocations, LocalSystem } from "../scripts/local-system.ts";
import { freePort } from "../scripts/ports.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";
import { mintKey, newAppId } from "../shared/keys.ts";
import { exit, stopOnInterrupt } from "./interrupt.ts";
import { type Bodies, uploadBodies } from "./lines.ts";
import { closedLoop, openLoop, round, type StepResult, type Target, type Window } from "./load.ts";
import { regionsInProcess } from "./regions-in-process.ts";
import { ceilingProbe, histogramQuantileMs, type Probe, type Reading, systemProbe } from "./tiers.ts";
import { startWorker } from "./workerd.ts";

const repoRoot = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    db: { type: "string", default: "pglite" },
    "batch-lines": { type: "string", default: "100,500" },
    duration: { type: "string", default: "4" },
    warmup: { type: "string", default: "1.5" },
    clients: { type: "string", default: "2,4,8,16,32,64,128" },
    runs: { type: "string", default: "1" },
    "port-base": { type: "string" },
    partitions: { type: "string", default: "31" },
  },
});
const list = (value: string) => value.split(",").map((part) => part.trim());
const databases = list(values.db);
if (databases.length === 0 || databases.some((db) => db !== "pglite" && db !== "postgres"))
  throw new Error("--db: pglite, postgres, or both separated by a comma");
const batchSizes = list(values["batch-lines"]).map(Number);
const clientSteps = list(values.clients).map(Number);
const timing = { warmupMs: Number(values.warmup) * 1000, measureMs: Number(values.duration) * 1000 };
const runs = Number(values.runs);
const portBase = values["port-base"] === undefined ? null : Number(values["port-base"]);
const partitionDays = Number(values.partitions);
const positive = (value: number) => Number.isFinite(value) && value > 0;
for (const [option, numbers] of Object.entries({
  "--batch-lines": batchSizes,
  "--clients": clientSteps,
  "--duration": [timing.measureMs],
  "--runs": [runs],
  "--port-base": portBase === null ? [] : [portBase],
}))
  if (!numbers.every(positive)) throw new Error(`${option}: expected positive numbers, comma-separated for lists`);
if (!(timing.warmupMs >= 0)) throw new Error("--warmup: expected seconds, 0 or more");
if (!(Number.isInteger(partitionDays) && partitionDays >= 0)) throw new Error("--partitions: expected days, 0 or more");
/**
 * The stepping stops after `flatStepsMax` steps in a row that do not beat the best so far by
 * `risingBy`: one noisy step on a shared machine (the ceiling once fell 10% from 2 to 4 clients)
 * would otherwise end the search far below the maximum, and give a meaningless ratio.
 */
const risingBy = 1.05;
const flatStepsMax = 2;
const regionNames = defaultRegionNames;
const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const progress = (message: string) => process.stderr.write(`[bench:ingest] ${message}\n`);
let nextPort = portBase ?? 0;
const port = async () => (portBase === null ? freePort() : nextPort++);

type CpuMs = Record<string, number>;
type Maximum = { steps: StepResult[]; best: StepResult; before: Reading; after: Reading };

/** A window whose edges read `probe`; `readings()` gives both once the step is over. */
function probedWindow(probe: Probe): { window: Window; readings: () => { before: Reading; after: Reading } } {
  let before: Reading | undefined;
  let after: Reading | undefined;
  return {
    window: {
      start: async () => {
        before = await probe();
      },
      end: async () => {
        after = await probe();
      },
    },
    readings: () => {
      if (!before || !after) throw new Error("the window was not measured");
      return { before, after };
    },
  };
}

const unmeasured: Window = { start: async () => {}, end: async () => {} };

/** Steps the clients until lines/s stops rising; the best step with the readings around it. */
async function findMaximum(target: Target, bodies: Bodies, probe: Probe, label: string): Promise<Maximum> {
  // The first uploads compile code in every process: not part of any step.
  await closedLoop(target, bodies, 4, { warmupMs: 2000, measureMs: 1000 }, unmeasured);
  const steps: StepResult[] = [];
  let maximum: Maximum | null = null;
  let flatSteps = 0;
  for (const clients of clientSteps) {
    const probed = probedWindow(probe);
    const step = await closedLoop(target, bodies, clients, timing, probed.window);
    steps.push(step);
    progress(`${label}: ${clients} clients, ${step.linesPerSecond} lines/s, p99 ${step.ackLatencyMs.p99} ms`);
    const bestSoFar: number = maximum?.best.linesPerSecond ?? 0;
    if (maximum === null || step.linesPerSecond > bestSoFar) maximum = { steps, best: step, ...probed.readings() };
    flatSteps = step.linesPerSecond < bestSoFar * risingBy ? flatSteps + 1 : 0;
    if (flatSteps === flatStepsMax) break;
  }
  if (maximum === null) throw new Error("--clients: no step");
  return maximum;
}

/** What only the bench runs: its load and the stand-in regions. */
const notTheSystem = new Set(["loadGenerator", "standIn"]);

/**
 * Each tier's CPU ms per batch acknowledged in the maximum step; `regions` sums the regions, and
 * `system` every process of the system under test (regions, workerd, wrangler, PostgreSQL's
 * backends), as the "CPU per upload in all processes together".
 */
function cpuMsPerBatch({ best, before, after }: Pick<Maximum, "best" | "before" | "after">): CpuMs {
  const perBatch: CpuMs = {};
  let regions = 0;
  let system = 0;
  for (const [tier, seconds] of Object.entries(after.cpuSeconds)) {
    const ms = ((seconds - (before.cpuSeconds[tier] ?? 0)) * 1000) / Math.max(1, best.batches);
    perBatch[tier] = round(ms, 2);
    if (tier.startsWith("region:")) regions += ms;
    if (!notTheSystem.has(tier)) system += ms;
  }
  if (Object.keys(perBatch).some((tier) => tier.startsWith("region:"))) perBatch.regions = round(regions, 2);
  perBatch.system = round(system, 2);
  return perBatch;
}

/**
 * What the CPU counters say of the ratio target on this machine. `utilization`: the share of the
 * machine's cores each run kept busy at its maximum (every process's CPU ms per batch × batches/s;
 * the ceiling is bound by workerd's own thread well before the machine, end to end by neither
 * alone). `regionsBudget`: the CPU ms per batch the regions with their databases may spend for end
 * to end to run at `ratioTarget` of the ceiling's rate with every core busy, after what end to
 * end's other processes (the edge, wrangler, the load) spend per batch: the figure to set beside
 * `regionsWithDatabases` (end to end's, PostgreSQL's backends included) and `regionsInProcess`.
 */
function cpuModel(
  endToEnd: { linesPerSecond: number; cpuMsPerBatch: CpuMs },
  ceiling: { linesPerSecond: number; cpuMsPerBatch: CpuMs },
  batchLines: number,
) {
  const regions = Object.entries(endToEnd.cpuMsPerBatch).reduce(
    (sum, [tier, ms]) => (tier.startsWith("region:") || tier === "database" ? sum + ms : sum),
    0,
  );
  const machineMsPerSecond = os.availableParallelism() * 1000;
  const busy = (run: typeof endToEnd) => coresBusy(run.cpuMsPerBatch, run.linesPerSecond / batchLines);
  const atTarget = (ratioTarget * ceiling.linesPerSecond) / batchLines;
  return {
    utilization: { endToEnd: busy(endToEnd), ceiling: busy(ceiling) },
    regionsWithDatabases: round(regions, 2),
    regionsBudget: round(machineMsPerSecond / atTarget - (everyProcess(endToEnd.cpuMsPerBatch) - regions), 2),
  };
}

/** The per-tier sums in `cpuMsPerBatch`, beside the tiers. */
const aggregates = new Set(["regions", "system"]);
/** Every process's CPU ms per batch, the load's included: what the machine spends on one. */
const everyProcess = (cpu: CpuMs) =>
  Object.entries(cpu).reduce((sum, [tier, ms]) => (aggregates.has(tier) ? sum : sum + ms), 0);
/** The share of the machine's cores that spending `cpu` per batch at `batchesPerSecond` keeps busy. */
function coresBusy(cpu: CpuMs, batchesPerSecond: number): number {
  return round((everyProcess(cpu) * batchesPerSecond) / (os.availableParallelism() * 1000), 2);
}

/** The target for end to end / ceiling. */
const ratioTarget = 0.8;

/**
 * The ack latency the regions measured themselves (`stormlog_ack_seconds`, from an upload's arrival
 * at its region to the answer) between two readings: end to end's latency less the edge's part
 * and the wire's. Null without `/metrics`.
 */
function regionsAckMs(before: Reading, after: Reading): { p50: number | null; p99: number | null } | null {
  if (!before.ackBuckets || !after.ackBuckets) return null;
  return {
    p50: histogramQuantileMs(0.5, before.ackBuckets, after.ackBuckets),
    p99: histogramQuantileMs(0.99, before.ackBuckets, after.ackBuckets),
  };
}

/** What the regions' counters grew by between two readings; null without `/metrics`. */
function acceptedBetween(before: Reading, after: Reading): Reading["accepted"] {
  if (!before.accepted || !after.accepted) return null;
  return {
    batches: after.accepted.batches - before.accepted.batches,
    duplicates: after.accepted.duplicates - before.accepted.duplicates,
    lines: after.accepted.lines - before.accepted.lines,
  };
}

/** End to end's half-load rate (batches/s) per database, for one batch size. */
type HalfRates = Map<string, number>;

async function measureCeiling(
  batchLines: number,
  edge: { url: string; ingestKey: string },
  probe: Probe,
  halfRates: HalfRates,
) {
  const target: Target = { ...edge, answered: {} };
  const bodies = uploadBodies(batchLines);
  const maximum = await findMaximum(target, bodies, probe, `ceiling ${batchLines} lines`);
  const atEndToEndHalf: Record<string, StepResult["ackLatencyMs"] & { linesPerSecond: number; cpuMsPerBatch: CpuMs }> =
    {};
  for (const [db, batchesPerSecond] of halfRates) {
    const probed = probedWindow(probe);
    const same = await openLoop(target, bodies, batchesPerSecond, timing, probed.window);
    progress(
      `ceiling ${batchLines} lines at ${db}'s half load: ${same.linesPerSecond} lines/s, p99 ${same.ackLatencyMs.p99} ms`,
    );
    // The edge's CPU per batch at that rate, beside end to end's `atHalf`: what sparser uploads
    // cost the edge by themselves, apart from what waiting on real regions adds.
    atEndToEndHalf[db] = {
      ...same.ackLatencyMs,
      linesPerSecond: same.linesPerSecond,
      cpuMsPerBatch: cpuMsPerBatch({ best: same, ...probed.readings() }),
    };
  }
  return {
    linesPerSecond: maximum.best.linesPerSecond,
    clients: maximum.best.clients,
    ackLatencyMs: maximum.best.ackLatencyMs,
    cpuMsPerBatch: cpuMsPerBatch(maximum),
    steps: maximum.steps,
    atEndToEndHalf,
  };
}

/** The edge on workerd in front of the stand-in regions, measured for every batch size. */
async function ceilings(
  work: string,
  halfRates: Map<number, HalfRates>,
): Promise<Map<number, Awaited<ReturnType<typeof measureCeiling>>>> {
  const regionPorts = [await port(), await port(), await port()];
  const standIn = spawn(
    process.execPath,
    [
      path.join(repoRoot, "bench/stand-in-region.ts"),
      ...regionNames.map((name, index) => `${name}=${regionPorts[index]}`),
    ],
    { cwd: repoRoot, detached: true, stdio: ["ignore", "ignore", "inherit"] },
  );
  const forgetStandIn = stopOnInterrupt(() => stopGroup(standIn));
  const keySecret = toHex(randomBytes(32));
  const vars = {
    REGIONS: JSON.stringify(
      regionNames.map((name, index) => ({
        name,
        url: `http://127.0.0.1:${regionPorts[index]}`,
        location: defaultLocations[index],
      })),
    ),
    KEY_SECRET: keySecret,
    EDGE_SECRET: toHex(randomBytes(32)),
    SPOOL_SECRET: toHex(randomBytes(32)),
    CONSOLE_SECRET: toHex(randomBytes(32)),
  };
  // The same edge, with the same wrangler.toml and log level, as the local system runs.
  const edge = await startWorker("ceiling-edge", path.join(repoRoot, "wrangler.toml"), vars, work, {
    port: await port(),
    inspectorPort: await port(),
    logLevel: "warn",
  }).catch(async (error: unknown) => {
    await stopGroup(standIn);
    throw error;
  });
  try {
    const ingestKey = await mintKey(keySecret, newAppId(), "ingest");
    const probe = ceilingProbe(edge.group, standIn.pid as number);
    const figures = new Map<number, Awaited<ReturnType<typeof measureCeiling>>>();
    for (const batchLines of batchSizes)
      figures.set(
        batchLines,
        await measureCeiling(batchLines, { url: edge.url, ingestKey }, probe, halfRates.get(batchLines) ?? new Map()),
      );
    return figures;
  } finally {
    await edge.stop();
    forgetStandIn();
    await stopGroup(standIn);
  }
}

/**
 * Each region's database as a month of running with the default retention leaves it: a `batches`
 * partition for every day its batches expire on (`--partitions` days from today; 0: a fresh one).
 * Every lookup of a batch id looks in all of them, so a fresh database would hide what they cost.
 */
async function monthOld(dir: string, pg: { env(region: string): Record<string, string> } | null) {
  if (partitionDays === 0) return;
  const today = dayOf(Date.now());
  const days = Array.from({ length: partitionDays }, (_, index) => today + index);
  for (const region of regionNames) {
    const database = await openDatabase({
      databaseUrl: pg?.env(region).DATABASE_URL,
      dataDir: path.join(dir, "data", region),
    });
    try {
      await ensurePartitions(database.db, days);
    } finally {
      await database.close();
    }
  }
}

/** A database and a key-store database per region on the PostgreSQL server; `drop` removes them. */
async function postgresDatabases() {
  const prefix = `stormlog_bench_ingest_${toHex(randomBytes(4))}`;
  const names = regionNames.map((region) => `${prefix}_${region.replaceAll("-", "_")}`);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  try {
    for (const name of names) {
      await admin.unsafe(`create database ${name}`);
      await admin.unsafe(`create database ${name}_keys`);
    }
  } finally {
    await admin.end();
  }
  const urlOf = (database: string) => Object.assign(new URL(serverUrl), { pathname: `/${database}` }).toString();
  return {
    names,
    env: (region: string) => {
      const name = names[regionNames.indexOf(region)] as string;
      return { DATABASE_URL: urlOf(name), STORMLOG_KEYSTORE_DATABASE_URL: urlOf(`${name}_keys`) };
    },
    async drop() {
      const cleanup = postgres(serverUrl, { max: 1, onnotice: () => undefined });
      for (const name of names) {
        await cleanup.unsafe(`drop database if exists ${name} with (force)`);
        await cleanup.unsafe(`drop database if exists ${name}_keys with (force)`);
      }
      await cleanup.end();
    },
  };
}

/** The whole system on one database, measured end to end for every batch size. */
async function endToEnd(db: "pglite" | "postgres", work: string) {
  const dir = await mkdtemp(path.join(work, `system-${db}-`));
  const pg = db === "postgres" ? await postgresDatabases() : null;
  await monthOld(dir, pg);
  const starting = LocalSystem.start({
    dir,
    regionNames,
    edgePort: await port(),
    inspectorPort: await port(),
    regionPorts: [await port(), await port(), await port()],
    adminPorts: [await port(), await port(), await port()],
    output: () => undefined,
    regionEnv: (region) => ({ STORMLOG_LOG_LEVEL: "warn", ...pg?.env(region) }),
  });
  const forget = stopOnInterrupt(async () => {
    await (await starting).stop();
    await pg?.drop();
  });
  const system = await starting.catch(async (error: unknown) => {
    forget();
    await pg?.drop();
    throw error;
  });
  try {
    const regions = system.info.regions.map((region) => ({
      name: region.name,
      adminUrl: region.adminUrl,
      pid: system.pid(region.name) as number,
    }));
    const { probe, regionSource } = await systemProbe(regions, system.pid("edge") as number, pg?.names ?? []);
    progress(`${db}: regions' CPU and counts from ${regionSource === "metrics" ? "/metrics" : "/proc (no /metrics)"}`);
    const target: Target = {
      url: system.info.edgeUrl,
      ingestKey: system.info.app.ingestKey,
      answered: {},
    };
    const atStart = await probe();
    const figures = new Map<number, unknown>();
    const halfRates = new Map<number, number>();
    for (const batchLines of batchSizes) {
      const bodies = uploadBodies(batchLines);
      const maximum = await findMaximum(target, bodies, probe, `${db} ${batchLines} lines`);
      const loadAverage = os.loadavg().map((load) => round(load, 2));
      const { best, before, after } = maximum;
      const halfRate = best.linesPerSecond / 2 / batchLines;
      halfRates.set(batchLines, halfRate);
      const probed = probedWindow(probe);
      const half = await openLoop(target, bodies, halfRate, timing, probed.window);
      const halfWindow = probed.readings();
      const halfCpu = cpuMsPerBatch({ best: half, ...halfWindow });
      progress(`${db} ${batchLines} lines: half load ${half.linesPerSecond} lines/s, p99 ${half.ackLatencyMs.p99} ms`);
      figures.set(batchLines, {
        linesPerSecond: best.linesPerSecond,
        clients: best.clients,
        ackLatencyMs: {
          atMaximum: { ...best.ackLatencyMs, regions: regionsAckMs(before, after) },
          atHalf: {
            ...half.ackLatencyMs,
            regions: regionsAckMs(halfWindow.before, halfWindow.after),
            linesPerSecond: half.linesPerSecond,
            failures: half.failures,
          },
        },
        cpuMsPerBatch: cpuMsPerBatch(maximum),
        // At half the maximum the regions' commit groups and peer calls hold one or two batches
        // where they hold about ten at the maximum, so each batch costs them more: the CPU behind
        // the half-load ack latency, and how busy it keeps the machine.
        atHalf: { cpuMsPerBatch: halfCpu, coresBusy: coresBusy(halfCpu, half.linesPerSecond / batchLines) },
        // In-flight uploads straddle the window's edges, so these differ by a few.
        acceptedInMaximumStep: {
          client: { batches: best.batches, lines: best.batches * batchLines },
          regions: acceptedBetween(before, after),
        },
        failures: best.failures,
        loadAverage,
        steps: maximum.steps,
      });
    }
    const atEnd = await probe();
    return {
      regionCounters: regionSource,
      // Over every upload to this system (warm-ups too), the client's answers by outcome (`ok`: a
      // region's receipt) and what the regions acknowledged. Regions counting more than `ok` is
      // work done twice: an upload the edge sent on to a second region after the first one's
      // attempt timed out while it still committed, or one spooled and delivered later.
      acceptedInAll: { client: target.answered, regions: acceptedBetween(atStart, atEnd) },
      figures,
      halfRates,
    };
  } finally {
    forget();
    await system.stop();
    await pg?.drop();
  }
}

/**
 * The regions' own work per batch in this process, for every batch size (regions-in-process.ts):
 * the floor under end to end's `regions` figure. Its own databases, with a month of partitions.
 */
async function inProcess(db: "pglite" | "postgres", work: string) {
  const dir = await mkdtemp(path.join(work, `in-process-${db}-`));
  const pg = db === "postgres" ? await postgresDatabases() : null;
  const storageOf = (region: string) => {
    if (!pg) return { dir };
    const env = pg.env(region);
    const name = pg.names[regionNames.indexOf(region)] as string;
    return {
      dir,
      databaseUrl: env.DATABASE_URL,
      keystoreUrl: env.STORMLOG_KEYSTORE_DATABASE_URL,
      databases: [name, `${name}_keys`],
    };
  };
  try {
    const figures = new Map<number, unknown>();
    for (const batchLines of batchSizes) {
      progress(`${db} ${batchLines} lines: the regions' work in process`);
      const storage = { origin: storageOf(regionNames[0] as string), peer: storageOf(regionNames[1] as string) };
      figures.set(batchLines, await regionsInProcess(uploadBodies(batchLines), storage, partitionDays));
    }
    return figures;
  } finally {
    await pg?.drop();
  }
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    process.kill(-(child.pid as number), "SIGTERM");
  });
}

/** Each numeric figure of `runs` as {min, median, max}; lists (the steps) and text are left out. */
function spread(values: unknown[]): unknown {
  const first = values.find((value) => value !== null && value !== undefined);
  if (typeof first === "number") {
    const sorted = values.filter((value): value is number => typeof value === "number").sort((a, b) => a - b);
    const middle = (sorted.length - 1) / 2;
    const median = ((sorted[Math.floor(middle)] as number) + (sorted[Math.ceil(middle)] as number)) / 2;
    return { min: sorted[0], median: round(median, 3), max: sorted.at(-1) };
  }
  if (typeof first !== "object" || first === null || Array.isArray(first)) return undefined;
  return Object.fromEntries(
    Object.keys(first).map((key) => [key, spread(values.map((value) => (value as Record<string, unknown>)?.[key]))]),
  );
}

const work = await mkdtemp(path.join(os.tmpdir(), "stormlog-bench-ingest-"));
const startedAt = new Date();
const loadAverageAtStart = os.loadavg().map((load) => round(load, 2));
const lines = Object.fromEntries(
  batchSizes.map((batchLines) => {
    const bodies = uploadBodies(batchLines);
    return [batchLines, { bodyBytes: bodies.bodyBytes, zstdRatio: round(bodies.zstdRatio, 2) }];
  }),
);
type RunFigures = { endToEnd: unknown; ceiling: unknown; ratio: number; cpuModel: unknown; regionsInProcess: unknown };
const results = new Map<string, RunFigures[]>();
const acceptedInAll: unknown[] = [];
let exitCode = 0;
try {
  for (let run = 1; run <= runs; run++) {
    nextPort = portBase ?? 0;
    // End to end first: the ceiling's edge is then also measured at end to end's half-load rate.
    const systems = new Map<string, Awaited<ReturnType<typeof endToEnd>>>();
    const inProcessFigures = new Map<string, Awaited<ReturnType<typeof inProcess>>>();
    for (const db of databases as ("pglite" | "postgres")[]) {
      progress(`run ${run} of ${runs}: end to end on ${db}`);
      const system = await endToEnd(db, work);
      acceptedInAll.push({ run, db, regionCounters: system.regionCounters, ...system.acceptedInAll });
      systems.set(db, system);
      inProcessFigures.set(db, await inProcess(db, work));
    }
    const halfRates = new Map<number, HalfRates>(
      batchSizes.map((batchLines) => [
        batchLines,
        new Map([...systems].map(([db, system]) => [db, system.halfRates.get(batchLines) as number])),
      ]),
    );
    progress(`run ${run} of ${runs}: the ceiling (edge alone, stand-in regions)`);
    const ceiling = await ceilings(work, halfRates);
    for (const [db, system] of systems) {
      for (const batchLines of batchSizes) {
        const endToEndFigures = system.figures.get(batchLines) as { linesPerSecond: number; cpuMsPerBatch: CpuMs };
        const { atEndToEndHalf, ...ceilingFigures } = ceiling.get(batchLines) as Awaited<
          ReturnType<typeof measureCeiling>
        >;
        const key = `${db}/${batchLines}`;
        results.set(key, [
          ...(results.get(key) ?? []),
          {
            endToEnd: endToEndFigures,
            ceiling: { ...ceilingFigures, atEndToEndHalf: atEndToEndHalf[db] },
            ratio: round(endToEndFigures.linesPerSecond / ceilingFigures.linesPerSecond, 3),
            cpuModel: cpuModel(endToEndFigures, ceilingFigures, batchLines),
            regionsInProcess: inProcessFigures.get(db)?.get(batchLines),
          },
        ]);
      }
    }
  }
  const report = {
    startedAt: startedAt.toISOString(),
    machine: {
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? "unknown",
      loadAverage: { atStart: loadAverageAtStart, atEnd: os.loadavg().map((load) => round(load, 2)) },
      node: process.version,
    },
    options: {
      db: databases,
      batchLines: batchSizes,
      stepS: timing.measureMs / 1000,
      warmupS: timing.warmupMs / 1000,
      clients: clientSteps,
      runs,
      partitions: partitionDays,
    },
    lines,
    configurations: [...results.entries()].map(([key, figures]) => {
      const [db, batchLines] = key.split("/");
      return {
        db,
        batchLines: Number(batchLines),
        ...(runs > 1 ? { summary: spread(figures) } : {}),
        runs: figures,
      };
    }),
    acceptedInAll,
  };
  console.log(JSON.stringify(report, null, 2));
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
await exit(exitCode);
