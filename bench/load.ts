/**
 * The ingest bench's load generator: uploads to an edge, either closed-loop (`clients` uploading
 * back to back, which finds what the system can take) or open-loop at a fixed rate (latency
 * without the queueing of saturation). Each step warms up, then measures a window; `onWindow`
 * runs at the window's edges so the caller can read CPU counters over exactly that window. Only
 * uploads that end inside the window count.
 */
import { percentile } from "./holdings.ts";
import type { Bodies } from "./lines.ts";

/**
 * Where uploads go, and every answer it gave, window or not, by outcome (`ok` for a region's
 * receipt), to check against the regions' counters.
 */
export type Target = { url: string; ingestKey: string; answered: Record<string, number> };

export type StepResult = {
  clients?: number;
  targetBatchesPerSecond?: number;
  windowS: number;
  /** Uploads answered 202 with a region's receipt inside the window. */
  batches: number;
  linesPerSecond: number;
  ackLatencyMs: { p50: number; p99: number };
  /** Answers other than a receipt, by status (`spooled` for a 202 from the edge's spool). */
  failures: Record<string, number>;
  /** Open-loop sends skipped because `outstandingMax` uploads were already waiting. */
  skipped?: number;
};

export type Window = { start(): Promise<void>; end(): Promise<void> };

type Tally = { latenciesMs: number[]; batches: number; failures: Record<string, number>; counting: boolean };

async function uploadOnce(target: Target, body: string, tally: Tally, sentMs: number): Promise<void> {
  let outcome: string;
  try {
    const response = await fetch(`${target.url}/v1/batches`, {
      method: "POST",
      headers: { authorization: `Bearer ${target.ingestKey}`, "content-type": "application/json" },
      body,
    });
    const text = await response.text();
    outcome = response.status !== 202 ? String(response.status) : text.includes('"spooled"') ? "spooled" : "ok";
  } catch {
    outcome = "network";
  }
  target.answered[outcome] = (target.answered[outcome] ?? 0) + 1;
  if (!tally.counting) return;
  if (outcome === "ok") {
    tally.batches += 1;
    tally.latenciesMs.push(performance.now() - sentMs);
  } else tally.failures[outcome] = (tally.failures[outcome] ?? 0) + 1;
}

async function measured(warmupMs: number, measureMs: number, window: Window, tally: Tally): Promise<number> {
  await sleep(warmupMs);
  await window.start();
  tally.counting = true;
  const startMs = performance.now();
  await sleep(measureMs);
  tally.counting = false;
  const windowS = (performance.now() - startMs) / 1000;
  await window.end();
  return windowS;
}

function result(tally: Tally, windowS: number, batchLines: number): StepResult {
  return {
    windowS: round(windowS, 2),
    batches: tally.batches,
    linesPerSecond: Math.round((tally.batches * batchLines) / windowS),
    ackLatencyMs: {
      p50: round(percentile(tally.latenciesMs, 50), 1),
      p99: round(percentile(tally.latenciesMs, 99), 1),
    },
    failures: tally.failures,
  };
}

/** `clients` uploading back to back for `warmupMs`, then measured for `measureMs`. */
export async function closedLoop(
  target: Target,
  bodies: Bodies,
  clients: number,
  timing: { warmupMs: number; measureMs: number },
  window: Window,
): Promise<StepResult> {
  const tally: Tally = { latenciesMs: [], batches: 0, failures: {}, counting: false };
  let running = true;
  const workers = Array.from({ length: clients }, async () => {
    while (running) await uploadOnce(target, bodies.next(), tally, performance.now());
  });
  const windowS = await measured(timing.warmupMs, timing.measureMs, window, tally);
  running = false;
  await Promise.all(workers);
  return { clients, ...result(tally, windowS, bodies.batchLines) };
}

/**
 * Uploads started at a fixed rate whatever the answers, latency counted from when each was due.
 * At most `outstandingMax` wait at once; a send past that is skipped and counted.
 */
export async function openLoop(
  target: Target,
  bodies: Bodies,
  batchesPerSecond: number,
  timing: { warmupMs: number; measureMs: number },
  window: Window,
  outstandingMax = 256,
): Promise<StepResult> {
  const tally: Tally = { latenciesMs: [], batches: 0, failures: {}, counting: false };
  const intervalMs = 1000 / batchesPerSecond;
  const pending = new Set<Promise<void>>();
  let skipped = 0;
  let running = true;
  const scheduler = (async () => {
    const startMs = performance.now();
    for (let index = 0; running; index++) {
      const dueMs = startMs + index * intervalMs;
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await sleep(waitMs);
      if (pending.size >= outstandingMax) {
        if (tally.counting) skipped += 1;
        continue;
      }
      const upload = uploadOnce(target, bodies.next(), tally, dueMs).finally(() => pending.delete(upload));
      pending.add(upload);
    }
  })();
  const windowS = await measured(timing.warmupMs, timing.measureMs, window, tally);
  running = false;
  await scheduler;
  await Promise.all(pending);
  return {
    targetBatchesPerSecond: round(batchesPerSecond, 1),
    ...result(tally, windowS, bodies.batchLines),
    skipped,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function round(value: number, digits = 0): number {
  return Number(value.toFixed(digits));
}
