/**
 * What each tier of the system has spent, read from the processes' own counters, for the ingest
 * bench to take before and after a measured window: a region's CPU and accepted uploads from its
 * Prometheus `/metrics` (process_cpu_seconds_total, stormlog_batches_accepted_total,
 * stormlog_lines_accepted_total), or from /proc when the region serves no `/metrics` (a version
 * from before it); workerd's and wrangler's CPU from /proc; the load generator's from
 * process.cpuUsage().
 */
import { groupCpuSeconds, postgresBackendCpuSeconds, processCpu } from "./process-cpu.ts";

export type Reading = {
  /** CPU seconds so far, by tier ("region:eu-west", "edge", "wrangler", "database", …). */
  cpuSeconds: Record<string, number>;
  /**
   * Uploads the regions acknowledged (of which duplicates: a batch they already held) and lines,
   * summed over regions; null without `/metrics`.
   */
  accepted: { batches: number; duplicates: number; lines: number } | null;
  /**
   * The regions' upload answers so far by latency, from their `stormlog_ack_seconds` histograms
   * summed: cumulative count per bucket bound in seconds (Infinity last); null without `/metrics`.
   */
  ackBuckets: Map<number, number> | null;
};

export type Probe = () => Promise<Reading>;

/**
 * The sums of a Prometheus text exposition: each metric over all its series (`name`), and over
 * the series with one label's value (`name{label="value"}`).
 * @example parseMetrics(text).get('stormlog_batches_accepted_total{duplicate="true"}')
 */
export function parseMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  const add = (key: string, value: number) => sums.set(key, (sums.get(key) ?? 0) + value);
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels, text] = match as unknown as [string, string, string | undefined, string];
    const value = Number(text);
    add(name, value);
    for (const label of labels?.match(/\w+="(?:[^"\\]|\\.)*"/g) ?? []) add(`${name}{${label}}`, value);
  }
  return sums;
}

async function scrape(adminUrl: string): Promise<Map<string, number> | null> {
  const response = await fetch(`${adminUrl}/metrics`).catch(() => null);
  if (!response?.ok) {
    await response?.body?.cancel();
    return null;
  }
  const metrics = parseMetrics(await response.text());
  return metrics.has("process_cpu_seconds_total") ? metrics : null;
}

export type RegionProcess = { name: string; adminUrl: string; pid: number };

/**
 * Readings of a local system: its regions (by `/metrics` when every region serves it, else by
 * /proc), the edge's workerd and wrangler, the PostgreSQL backends of `databases`, this process.
 * Resolves to the probe and which source the regions' figures come from.
 */
export async function systemProbe(
  regions: RegionProcess[],
  edgeGroup: number,
  databases: string[],
): Promise<{ probe: Probe; regionSource: "metrics" | "proc" }> {
  const served = await Promise.all(regions.map((region) => scrape(region.adminUrl)));
  const regionSource = served.every((metrics) => metrics !== null) ? "metrics" : "proc";
  const probe: Probe = async () => {
    const scraped = regionSource === "metrics" ? await Promise.all(regions.map((r) => scrape(r.adminUrl))) : [];
    const processes = processCpu();
    const cpuSeconds: Record<string, number> = { ...edgeCpu(processes, edgeGroup) };
    let accepted: Reading["accepted"] = regionSource === "metrics" ? { batches: 0, duplicates: 0, lines: 0 } : null;
    let ackBuckets: Reading["ackBuckets"] = regionSource === "metrics" ? new Map() : null;
    for (const [index, region] of regions.entries()) {
      const metrics = scraped[index];
      if (regionSource === "metrics" && metrics && accepted) {
        cpuSeconds[`region:${region.name}`] = metrics.get("process_cpu_seconds_total") ?? 0;
        accepted.batches += metrics.get("stormlog_batches_accepted_total") ?? 0;
        accepted.duplicates += metrics.get('stormlog_batches_accepted_total{duplicate="true"}') ?? 0;
        accepted.lines += metrics.get("stormlog_lines_accepted_total") ?? 0;
        for (const [key, count] of metrics) {
          const bound = /^stormlog_ack_seconds_bucket\{le="([^"]+)"\}$/.exec(key)?.[1];
          if (bound === undefined || !ackBuckets) continue;
          const seconds = bound === "+Inf" ? Number.POSITIVE_INFINITY : Number(bound);
          ackBuckets.set(seconds, (ackBuckets.get(seconds) ?? 0) + count);
        }
      } else {
        if (regionSource === "metrics") {
          accepted = null;
          ackBuckets = null;
        }
        cpuSeconds[`region:${region.name}`] = groupCpuSeconds(processes, region.pid).all ?? 0;
      }
    }
    if (databases.length > 0) cpuSeconds.database = postgresBackendCpuSeconds(processes, databases);
    cpuSeconds.loadGenerator = ownCpuSeconds();
    return { cpuSeconds, accepted, ackBuckets };
  };
  return { probe, regionSource };
}

/** Readings of the edge alone against the stand-in region (its own process group). */
export function ceilingProbe(edgeGroup: number, standInGroup: number): Probe {
  return async () => {
    const processes = processCpu();
    return {
      cpuSeconds: {
        ...edgeCpu(processes, edgeGroup),
        standIn: groupCpuSeconds(processes, standInGroup).all ?? 0,
        loadGenerator: ownCpuSeconds(),
      },
      accepted: null,
      ackBuckets: null,
    };
  };
}

/** workerd apart from what only `wrangler dev` runs (its Node process, esbuild): a deployed Worker has none of that. */
function edgeCpu(processes: ReturnType<typeof processCpu>, group: number): { edge: number; wrangler: number } {
  const seconds = groupCpuSeconds(processes, group, (name) => (name === "workerd" ? "edge" : "wrangler"));
  return { edge: seconds.edge ?? 0, wrangler: seconds.wrangler ?? 0 };
}

/**
 * The `q` quantile (0 to 1) of the answers counted between two readings of a histogram, in ms,
 * interpolated within its bucket as Prometheus's histogram_quantile does; null if none.
 */
export function histogramQuantileMs(q: number, before: Map<number, number>, after: Map<number, number>): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((bound) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  const index = counts.findIndex((count) => count >= rank);
  const upper = bounds[index] as number;
  const lower = index === 0 ? 0 : (bounds[index - 1] as number);
  // Past the last finite bound the histogram says only "more than" it.
  if (upper === Number.POSITIVE_INFINITY) return lower * 1000;
  const below = index === 0 ? 0 : (counts[index - 1] as number);
  const inBucket = (counts[index] as number) - below;
  const seconds = inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
  return Math.round(seconds * 10_000) / 10;
}

function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
