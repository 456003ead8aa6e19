/**
 * Time, behind the smallest interface, so that whatever depends on it takes it injected: regions
 * stamp batches, lease and back off outbox entries and date peer contact with it; the edge ages
 * its breakers, its health cache and its revocation list with it. A test passes its own clock and
 * moves time by assignment instead of sleeping.
 *
 * @example
 *   let nowMs = 0;
 *   const breaker = createBreaker({ clock: { now: () => nowMs } });
 *   nowMs += breakerCooldownMs; // the breaker is half-open, no sleep needed
 */
export type Clock = {
  /** Epoch milliseconds, as `Date.now()`. */
  now(): number;
};

/** The wall clock, the default everywhere outside tests. */
export const systemClock: Clock = { now: () => Date.now() };
