/**
 * The set of revoked app keys, as the edge knows it. App keys verify by themselves (shared/keys),
 * so revocation is the only thing the edge must learn from the regions; it must not cost a
 * round trip per request. The list (SHA-256 hashes of revoked keys) is fetched with a signed
 * `GET /internal/v1/keys/revoked` from the first region that answers (each gets at most
 * `revocationsAttemptMs`, so one hung region cannot take the whole wait) and kept per isolate.
 *
 * It fails closed, so that "a revocation takes effect within 30 s" holds whatever the regions do:
 *   - fresh for `revocationsFreshMs`: served as is;
 *   - then, for at most `revocationsGraceMs` more, served stale while one background refresh runs
 *     (under `waitUntil`), so a refresh never slows a request in the common case;
 *   - past that (or before the first fetch) a request waits for a fresh list, at most
 *     `revocationsWaitMs`, and `current` answers null when it cannot get one: the auth middleware
 *     then refuses the request (503 + Retry-After) rather than trust a list that may miss a
 *     revocation.
 */
import { revokedKeysAnswerSchema } from "../shared/admin.ts";
import { type Clock, systemClock } from "../shared/clock.ts";
import { internalPaths, type Region } from "../shared/regions.ts";
import type { Result } from "../shared/result.ts";
import type { ForwardOptions, RegionAnswer, RegionCall } from "./region-client.ts";

export const revocationsFreshMs = 20_000;
export const revocationsGraceMs = 10_000;
/** The longest a request waits for a list it must have. */
export const revocationsWaitMs = 2_000;
/**
 * The longest one region gets to send the list: half the wait, so a region that takes connections
 * and never answers leaves time to ask the next one. Without it the first region took the whole
 * wait, and a fresh isolate refused its first upload (503) while a healthy region stood behind a
 * hung one. The list is a small read: a region that cannot send it in a second is unwell.
 */
export const revocationsAttemptMs = revocationsWaitMs / 2;

export type RefreshContext = { requestId: string; waitUntil(promise: Promise<unknown>): void };

export interface RevocationList {
  /** The revoked key hashes, or null when there is no list recent enough to trust. */
  current(context: RefreshContext): Promise<ReadonlySet<string> | null>;
  /**
   * The last list fetched, however old (null before the first): only for what a revoked key may
   * harmlessly get while no region answers, as a device's logging settings (routes/device-settings.ts).
   */
  lastKnown?(): ReadonlySet<string> | null;
}

/** What fetches the list: a `RegionClient`, or the router (which orders regions by health). */
export type RevocationSource = {
  forward(
    regions: readonly Region[],
    call: RegionCall,
    options?: ForwardOptions,
  ): Promise<Result<RegionAnswer, unknown>>;
};

export function createRevocationList(options: {
  regions: readonly Region[];
  client: RevocationSource;
  clock?: Clock;
}): RevocationList {
  const clock = options.clock ?? systemClock;
  let known: { hashes: ReadonlySet<string>; fetchedAtMs: number } | null = null;
  let inFlight: Promise<void> | null = null;

  async function fetchList(requestId: string): Promise<void> {
    const answer = await options.client.forward(
      options.regions,
      { method: "GET", pathAndQuery: internalPaths.revokedKeys, requestId },
      { deadlineMs: revocationsWaitMs, attemptTimeoutMs: revocationsAttemptMs },
    );
    if (!answer.ok) return;
    const { response } = answer.value;
    if (!response.ok) {
      await response.body?.cancel();
      return;
    }
    const parsed = revokedKeysAnswerSchema.safeParse(await response.json().catch(() => null));
    if (!parsed.success) return;
    known = { hashes: new Set(parsed.data.keyHashes), fetchedAtMs: clock.now() };
  }

  function refresh(requestId: string): Promise<void> {
    // One refresh at a time per isolate, however many requests find the list stale.
    inFlight ??= fetchList(requestId)
      .catch(() => undefined)
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  const ageMs = () => (known === null ? Number.POSITIVE_INFINITY : clock.now() - known.fetchedAtMs);

  return {
    async current(context) {
      const age = ageMs();
      if (age < revocationsFreshMs) return known?.hashes ?? null;
      if (age < revocationsFreshMs + revocationsGraceMs) {
        context.waitUntil(refresh(context.requestId));
        return known?.hashes ?? null;
      }
      await refresh(context.requestId);
      return ageMs() < revocationsFreshMs + revocationsGraceMs ? (known?.hashes ?? null) : null;
    },
    lastKnown: () => known?.hashes ?? null,
  };
}
