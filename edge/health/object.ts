/**
 * The health table every isolate shares: a Durable Object (SQLite-backed, one per REGIONS list)
 * that probes each region's `GET /v1/health` on an alarm and keeps what it saw (status.ts), plus
 * the failures requests report as they happen. Isolates read it through `snapshot` (an RPC, cached
 * ≤ 2 s by view.ts), so a region one isolate found dead is avoided by all of them within seconds,
 * and a region that comes back is seen by the next probe.
 *
 * Probing stops when nobody has read the table for `idleStopMs`, so an idle deployment does not
 * keep an alarm running forever; the next read starts it again with an immediate probe. The table
 * is persisted, so an evicted object resumes where it was rather than from "unknown".
 */
import { DurableObject } from "cloudflare:workers";
import type { Region } from "../../shared/regions.ts";
import {
  applyProbe,
  type HealthSnapshot,
  initialState,
  markFailed,
  type ProbeResult,
  type RegionHealthState,
} from "./status.ts";

/** What the isolate tells the object on every call: which regions, and how often to probe them. */
export type HealthSetup = { regions: Pick<Region, "name" | "url">[]; probeIntervalMs: number };

export type FailureReport = { region: string; reason: string; atMs: number };

/** A probe gets at most this long, and never longer than one interval. */
const probeTimeoutMs = 2000;
/** Stop probing after this long without a reader. */
const idleStopMs = 5 * 60_000;

type Stored = { setup: HealthSetup; states: RegionHealthState[]; probedAt: number | null; lastReadAt: number };

export class RegionHealth extends DurableObject<Env> {
  private table: Stored | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.table = (await ctx.storage.get<Stored>("table")) ?? null;
    });
  }

  /** The current table; also (re)starts probing for these regions. */
  async snapshot(setup: HealthSetup): Promise<HealthSnapshot> {
    const before = this.table;
    const table = this.tableFor(setup);
    const now = Date.now();
    table.lastReadAt = now;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null) {
      // Never probed, or idle since: probe now rather than wait an interval.
      await this.ctx.storage.setAlarm(now);
    }
    // A read changes only `lastReadAt`, which the next probe saves with the table: writing it on
    // every read was a storage write per isolate every two seconds.
    if (table !== before || alarm === null) await this.save();
    return { regions: table.states, probedAt: table.probedAt };
  }

  /** A request saw this region fail (connect error, timeout, 5xx): down until a probe says otherwise. */
  async report(setup: HealthSetup, failure: FailureReport): Promise<void> {
    const table = this.tableFor(setup);
    table.states = table.states.map((state) =>
      state.name === failure.region ? markFailed(state, failure.reason, failure.atMs) : state,
    );
    await this.save();
  }

  override async alarm(): Promise<void> {
    const table = this.table;
    if (!table) return;
    const startedAt = Date.now();
    const { regions, probeIntervalMs } = table.setup;
    const results = await Promise.all(
      regions.map((region) => probe(region.url, Math.min(probeTimeoutMs, probeIntervalMs))),
    );
    // The table may have been replaced while probes ran (another REGIONS list): keep only matches.
    if (this.table !== table) return;
    table.states = table.states.map((state) => {
      const index = regions.findIndex((region) => region.name === state.name);
      const result = results[index];
      return result ? applyProbe(state, result) : state;
    });
    table.probedAt = startedAt;
    await this.save();
    if (Date.now() - table.lastReadAt < idleStopMs) {
      await this.ctx.storage.setAlarm(startedAt + probeIntervalMs);
    }
  }

  private tableFor(setup: HealthSetup): Stored {
    const current = this.table;
    if (current && JSON.stringify(current.setup) === JSON.stringify(setup)) return current;
    // New or changed configuration: keep what is known about regions that stayed the same.
    const states = setup.regions.map((region) => {
      const before = current?.setup.regions.find((old) => old.name === region.name && old.url === region.url);
      const state = before ? current?.states.find((old) => old.name === region.name) : undefined;
      return state ?? initialState(region.name);
    });
    this.table = { setup, states, probedAt: current?.probedAt ?? null, lastReadAt: Date.now() };
    return this.table;
  }

  private async save(): Promise<void> {
    await this.ctx.storage.put("table", this.table);
  }
}

/** One `GET /v1/health`, unsigned (it says nothing secret), bounded by `timeoutMs`. */
async function probe(baseUrl: string, timeoutMs: number): Promise<ProbeResult> {
  const startedMs = performance.now();
  const atMs = Date.now();
  try {
    const response = await fetch(new URL("/v1/health", baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
    const body: unknown = await response.json().catch(() => null);
    return { kind: "answer", httpStatus: response.status, body, latencyMs: performance.now() - startedMs, atMs };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { kind: "failure", reason: timedOut ? `no answer within ${timeoutMs} ms` : "unreachable", atMs };
  }
}
