/**
 * An isolate's window on the shared health table (object.ts): `snapshot` reads it over RPC and
 * keeps it for `healthCacheMs` (≤ 2 s), so routing costs one RPC per isolate every two seconds,
 * not one per request; `report` tells the table a request saw a region fail, in the background
 * (the caller passes `waitUntil`), so the failing request is not slowed by it.
 *
 * Without a REGION_HEALTH binding, or while the object cannot be reached, the view serves the last
 * table it had (or an empty one): routing then rests on the configured order and the breakers.
 */
import { type Clock, systemClock } from "../../shared/clock.ts";
import type { RoutedRegion } from "../../shared/regions.ts";
import type { FailureReport, HealthSetup, RegionHealth } from "./object.ts";
import { type HealthSnapshot, markFailed } from "./status.ts";

export const healthCacheMs = 2000;

export interface HealthView {
  /** The table, at most `healthCacheMs` old; `fresh` asks the object (GET /v1/health does). */
  snapshot(options?: { fresh?: boolean }): Promise<HealthSnapshot>;
  report(failure: FailureReport, waitUntil: (promise: Promise<unknown>) => void): void;
}

/** One object per REGIONS list: tests (and a config change) never mix tables. */
export function healthObjectName(regions: readonly Pick<RoutedRegion, "name" | "url">[]): string {
  return JSON.stringify(regions.map(({ name, url }) => ({ name, url })));
}

export function createHealthView(options: {
  namespace: DurableObjectNamespace<RegionHealth> | undefined;
  regions: readonly RoutedRegion[];
  probeIntervalMs: number;
  cacheMs?: number;
  clock?: Clock;
}): HealthView {
  const clock = options.clock ?? systemClock;
  const cacheMs = options.cacheMs ?? healthCacheMs;
  const setup: HealthSetup = {
    regions: options.regions.map(({ name, url }) => ({ name, url })),
    probeIntervalMs: options.probeIntervalMs,
  };
  const objectName = healthObjectName(options.regions);
  let cached: { snapshot: HealthSnapshot; readAtMs: number } | null = null;

  // Stubs are bound to the request that made them, so each call gets its own.
  function object() {
    const namespace = options.namespace;
    return namespace ? namespace.get(namespace.idFromName(objectName)) : null;
  }

  return {
    async snapshot({ fresh = false } = {}) {
      if (!fresh && cached && clock.now() - cached.readAtMs < cacheMs) return cached.snapshot;
      const stub = object();
      if (!stub) return { regions: [], probedAt: null };
      try {
        const snapshot = (await stub.snapshot(setup)) as HealthSnapshot;
        cached = { snapshot, readAtMs: clock.now() };
        return snapshot;
      } catch {
        return cached?.snapshot ?? { regions: [], probedAt: null };
      }
    },
    report(failure, waitUntil) {
      // This isolate knows now; the others learn it from the object within their cache time.
      if (cached) {
        const regions = cached.snapshot.regions.map((state) =>
          state.name === failure.region ? markFailed(state, failure.reason, failure.atMs) : state,
        );
        cached = { ...cached, snapshot: { ...cached.snapshot, regions } };
      }
      const stub = object();
      if (!stub) return;
      waitUntil(stub.report(setup, failure).catch(() => undefined));
    },
  };
}
