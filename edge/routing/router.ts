/**
 * Routing: every call goes to the healthiest region first and fails over within the request.
 * The order comes from `planRoute` (choice.ts) over the shared health table and this isolate's
 * breakers; the attempts from `RegionClient.forward` (region-client.ts), bounded per attempt and
 * overall. A region that cannot be reached, does not answer in time or says it cannot take calls
 * (503) opens its breaker at once, and the failure is reported to the health table in the
 * background so every isolate avoids the region. A region that answers 503 OVERLOADED is skipped
 * for this call only: it is up, and busy now is not down for the next call.
 *
 * A region that answers with its own `INTERNAL` error, or does not answer a read in time, is
 * judged once the call's outcome is known, so that no single request can take regions out: if
 * another region took the call (2xx), the failing ones are unwell and treated as above; if none
 * did, the call itself is at fault: every region that answered failed with INTERNAL
 * (`request_failed`), or the read is too costly for any region to answer in time (a search over a
 * cold database). Then no breaker opens and nothing is reported, or one tenant's search would
 * close every region to every tenant's uploads. A read cannot store anything, so it is the one
 * call a timeout can be forgiven on; an upload that times out still opens the breaker at once.
 */
import type { Location, RoutedRegion } from "../../shared/regions.ts";
import type { Result } from "../../shared/result.ts";
import type { HealthView } from "../health/view.ts";
import type {
  AttemptOutcome,
  RegionAnswer,
  RegionCall,
  RegionClient,
  RegionsUnavailable,
  SkipCause,
  SkippedRegion,
} from "../region-client.ts";
import type { Breaker } from "./breaker.ts";
import { attemptOrder, type PlannedRegion, planRoute } from "./choice.ts";

export type RouteContext = {
  client: Location | null;
  waitUntil: (promise: Promise<unknown>) => void;
  /** A tighter bound on the whole call than the router's own (the revocation list waits less). */
  deadlineMs?: number;
  /** A tighter bound on each attempt than the client's own (region-client.ts `ForwardOptions`). */
  attemptTimeoutMs?: number;
  /** Told of each region tried and skipped, as it happens (the request log's failovers). */
  onSkipped?: (skipped: SkippedRegion) => void;
};

/** Every region that answered failed with its own INTERNAL error: the call, not the regions. */
export type RequestFailed = { kind: "request_failed"; retryable: false; skipped: SkippedRegion[] };

export type RouteFailure = RegionsUnavailable | RequestFailed;

export interface Router {
  /** The shared health table, as this isolate sees it. */
  readonly health: HealthView;
  /** The plan for a client at this location: every region, its state, score and order. */
  plan(client: Location | null): Promise<PlannedRegion[]>;
  forward(call: RegionCall, context: RouteContext): Promise<Result<RegionAnswer, RouteFailure>>;
}

/** Causes that mean the region did answer, if not with a verdict. */
const answeredCauses: ReadonlySet<SkipCause> = new Set([
  "unavailable",
  "internal_error",
  "signature_rejected",
  "overloaded",
]);

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
        .map((region): SkippedRegion => ({ region: region.name, cause: "breaker_open", reason: "breaker open" }));
      const unwell = (attempt: AttemptOutcome) => {
        breaker.failure(attempt.region);
        health.report({ region: attempt.region, reason: attempt.reason, atMs: Date.now() }, context.waitUntil);
      };
      const judgedAfter: AttemptOutcome[] = [];
      const answer = await client.forward(ordered, call, {
        deadlineMs: context.deadlineMs ?? options.deadlineMs,
        attemptTimeoutMs: context.attemptTimeoutMs,
        // Asked just before each attempt: a half-open breaker lets one trial through at a time.
        mayTry: (region) => breaker.admit(region),
        onAttempt(attempt) {
          if (attempt.kind === "skipped") context.onSkipped?.(attempt);
          // Reachable: a 401 says the secrets differ, and an OVERLOADED answer that the region is
          // busy, not that it is unwell: opening its breaker would move its load onto the others.
          if (attempt.kind === "answered" || attempt.cause === "signature_rejected" || attempt.cause === "overloaded")
            breaker.success(attempt.region);
          else if (attempt.cause === "internal_error" || (attempt.cause === "timeout" && call.method === "GET"))
            judgedAfter.push(attempt);
          else unwell(attempt);
        },
      });

      // Another region took the call, so the ones that failed on it are unwell. Otherwise one that
      // answered INTERNAL ends a half-open trial like any region that gives a verdict, and one
      // that ran out of time keeps its breaker as it was (a trial that did not answer failed).
      const takenElsewhere = answer.ok && answer.value.response.ok;
      for (const attempt of judgedAfter) {
        if (takenElsewhere) unwell(attempt);
        else if (attempt.kind === "skipped" && attempt.cause === "internal_error") breaker.success(attempt.region);
        else if (breaker.state(attempt.region) !== "closed") breaker.failure(attempt.region);
      }
      if (answer.ok) return answer;
      const skipped = [...answer.error.skipped, ...skippedByBreaker];
      const answered = skipped.filter((skip) => answeredCauses.has(skip.cause));
      if (answered.length > 0 && answered.every((skip) => skip.cause === "internal_error")) {
        return { ok: false, error: { kind: "request_failed", retryable: false, skipped } };
      }
      return { ok: false, error: { ...answer.error, skipped } };
    },
  };
}
