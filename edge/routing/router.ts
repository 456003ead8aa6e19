/**
 * Routing: every call goes to the healthiest region first and fails over within the request.
 * The order comes from `planRoute` (choice.ts) over the shared health table and this isolate's
 * breakers; the attempts from `RegionClient.forward` (regions.ts), bounded per attempt and
 * overall. Each attempt's outcome closes or opens the region's breaker at once, and a failure is
 * reported to the health table in the background so every isolate avoids the region.
 */
import type { Location, RoutedRegion } from "../../shared/regions.ts";
import type { Result } from "../../shared/result.ts";
import type { HealthView } from "../health/view.ts";
import type { RegionAnswer, RegionCall, RegionClient, RegionsUnavailable } from "../regions.ts";
import type { Breaker } from "./breaker.ts";
import { attemptOrder, type PlannedRegion, planRoute } from "./choice.ts";

export type RouteContext = {
  client: Location | null;
  waitUntil: (promise: Promise<unknown>) => void;
};

export interface Router {
  /** The shared health table, as this isolate sees it. */
  readonly health: HealthView;
  /** The plan for a client at this location: every region, its state, score and order. */
  plan(client: Location | null): Promise<PlannedRegion[]>;
  forward(call: RegionCall, context: RouteContext): Promise<Result<RegionAnswer, RegionsUnavailable>>;
}

export function createRouter(options: {
  regions: readonly RoutedRegion[];
  client: RegionClient;
  health: HealthView;
  breaker: Breaker;
  deadlineMs?: number;
}): Router {
  const { regions, client, health, breaker } = options;

  async function plan(location: Location | null): Promise<PlannedRegion[]> {
    return planRoute(regions, await health.snapshot(), breaker.state, location);
  }

  return {
    health,
    plan,
    async forward(call, context) {
      const ordered = attemptOrder(await plan(context.client));
      const skippedByBreaker = regions
        .filter((region) => !ordered.includes(region))
        .map((region) => ({ region: region.name, reason: "breaker open" }));
      const answer = await client.forward(ordered, call, {
        deadlineMs: options.deadlineMs,
        // Asked just before each attempt: a half-open breaker lets one trial through at a time.
        mayTry: (region) => breaker.admit(region),
        onAttempt(attempt) {
          if (attempt.outcome !== "failed") {
            // Reachable: a 401 says the secrets differ, not that the region is unwell.
            breaker.success(attempt.region);
            return;
          }
          breaker.failure(attempt.region);
          health.report({ region: attempt.region, reason: attempt.reason, atMs: Date.now() }, context.waitUntil);
        },
      });
      if (answer.ok) return answer;
      return { ok: false, error: { ...answer.error, skipped: [...answer.error.skipped, ...skippedByBreaker] } };
    },
  };
}
