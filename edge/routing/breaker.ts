/**
 * The passive half of health: a circuit breaker per region, per isolate. A request that sees a
 * region fail (connect error, timeout, 503; its own INTERNAL error only when another region took
 * the same request, see router.ts) opens its breaker at once, so the following requests
 * of this isolate skip it without waiting for the next probe. After `cooldownMs` the breaker is
 * half-open: one request (the trial) may try the region again; its success closes the breaker,
 * its failure opens it for another cool-down. Failures are also reported to the health object
 * (view.ts), which is how the other isolates learn of them.
 */
import { type Clock, systemClock } from "../../shared/clock.ts";

export type BreakerState = "closed" | "open" | "half-open";

export const breakerCooldownMs = 5000;

export interface Breaker {
  /** The state now; a breaker whose cool-down is over reads `half-open`. */
  state(region: string): BreakerState;
  /** May a request try this region now? Claims the half-open trial for the caller. */
  admit(region: string): boolean;
  success(region: string): void;
  failure(region: string): void;
}

type Entry = { openedAtMs: number; trialInFlight: boolean };

export function createBreaker(options: { cooldownMs?: number; clock?: Clock } = {}): Breaker {
  const cooldownMs = options.cooldownMs ?? breakerCooldownMs;
  const clock = options.clock ?? systemClock;
  // Only regions whose breaker is not closed have an entry.
  const open = new Map<string, Entry>();

  function state(region: string): BreakerState {
    const entry = open.get(region);
    if (!entry) return "closed";
    return clock.now() - entry.openedAtMs >= cooldownMs ? "half-open" : "open";
  }

  return {
    state,
    admit(region) {
      const current = state(region);
      if (current === "closed") return true;
      if (current === "open") return false;
      const entry = open.get(region) as Entry;
      if (entry.trialInFlight) return false;
      entry.trialInFlight = true;
      return true;
    },
    success(region) {
      open.delete(region);
    },
    failure(region) {
      open.set(region, { openedAtMs: clock.now(), trialInFlight: false });
    },
  };
}
