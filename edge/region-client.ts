/**
 * How the edge reaches regional backends. `RegionClient.forward` sends one call, signed as the
 * edge for each region it tries (the region's name is the audience), to the regions in the order
 * it is given (routing/router.ts decides that order from health) and returns the first real
 * answer. A region that cannot be reached, does not answer within the per-attempt timeout,
 * answers 5xx, or rejects the edge's signature is skipped, with a typed `cause`; any other answer
 * (2xx, and 4xx such as a 409 batch conflict, or a 401 APP_KEY_REJECTED: the region refused the
 * client's read key) is the region's verdict and is passed back without trying another region. A
 * 5xx whose body is the region's own `INTERNAL` error is told apart from one that is not
 * (draining, a proxy's error page): the first may be a bug this very call sets off, so the router
 * decides only after the call whether it was the region's fault. Two 503s are told apart too: an
 * `OVERLOADED` region stored nothing and is skipped like any other, but as busy, not down; a
 * `QUORUM_UNAVAILABLE` one stored the batch, so its answer is the verdict: no other region is
 * tried, which would store the batch a second time as another origin. The body is
 * serialized once by the caller, so every attempt sends the same bytes (signed anew, with a fresh
 * nonce), and an overall deadline bounds the whole call. Each attempt's outcome goes to
 * `onAttempt`, which is how the router feeds its breakers and the health table.
 */
import { readCapped } from "../shared/encoding.ts";
import { type ErrorCode, parseErrorBody } from "../shared/errors.ts";
import type { Region } from "../shared/regions.ts";
import { err, ok, type Result } from "../shared/result.ts";
import { signedFetch } from "../shared/signed-fetch.ts";

/** How long one region gets to answer before the next one is tried. */
export const attemptTimeoutMs = 2000;

/** How long one call may take over all its attempts. */
export const forwardDeadlineMs = 5000;

/** An attempt with less time left than this is not started. */
const attemptMinMs = 100;

export type RegionCall = {
  method: "GET" | "POST" | "PUT";
  pathAndQuery: string;
  /** JSON text, serialized once so a failover re-sends the same bytes. */
  body?: string;
  requestId: string;
  /** The client's app key, on reads: signed, and checked by the region against its own key list. */
  appKey?: string;
};

export type RegionAnswer = { region: Region; response: Response };

/**
 * Why a region tried gave no verdict: no connection, no answer in time, a 5xx saying it cannot
 * take calls now (a 503 when draining, or a 5xx that is not its own error body), its own
 * `INTERNAL` error (a bug, maybe triggered by this call), a 401 for the edge's signature (the
 * region is fine, the edge's secret is not), or a 503 OVERLOADED (the region is up but at
 * capacity, and stored nothing: busy, not down).
 */
export type AttemptCause =
  | "unreachable"
  | "timeout"
  | "unavailable"
  | "internal_error"
  | "signature_rejected"
  | "overloaded";

/** Why a region was skipped: an attempt's cause, or not tried at all (breaker open, no time left). */
export type SkipCause = AttemptCause | "breaker_open" | "deadline";

/** One skipped region: `cause` is what code decides on, `reason` what logs and messages show. */
export type SkippedRegion = { region: string; cause: SkipCause; reason: string };

export type RegionsUnavailable = { kind: "regions_unavailable"; retryable: true; skipped: SkippedRegion[] };

/** One attempt: the region's verdict, or why there was none (the router feeds breakers with it). */
export type AttemptOutcome =
  | { region: string; kind: "answered"; reason: string }
  | { region: string; kind: "skipped"; cause: AttemptCause; reason: string };

export type ForwardOptions = {
  deadlineMs?: number;
  /**
   * A tighter bound on each attempt than the client's own, for a call that must leave time to
   * ask another region within its deadline (the revocation list a request waits for).
   */
  attemptTimeoutMs?: number;
  /** Asked just before each attempt (the router's breakers); false skips the region. */
  mayTry?: (region: string) => boolean;
  onAttempt?: (attempt: AttemptOutcome) => void;
};

export interface RegionClient {
  forward(
    regions: readonly Region[],
    call: RegionCall,
    options?: ForwardOptions,
  ): Promise<Result<RegionAnswer, RegionsUnavailable>>;
}

/** The real client: signed HTTP calls with a timeout per attempt. */
export function createRegionClient(options: { edgeSecret: string; timeoutMs?: number }): RegionClient {
  const timeoutMs = options.timeoutMs ?? attemptTimeoutMs;
  return {
    async forward(regions, call, forwardOptions = {}) {
      const deadlineAtMs = Date.now() + (forwardOptions.deadlineMs ?? forwardDeadlineMs);
      const onAttempt = forwardOptions.onAttempt ?? (() => {});
      const skipped: SkippedRegion[] = [];
      for (const region of regions) {
        const leftMs = deadlineAtMs - Date.now();
        if (leftMs < attemptMinMs) {
          skipped.push({ region: region.name, cause: "deadline", reason: "deadline" });
          continue;
        }
        if (forwardOptions.mayTry && !forwardOptions.mayTry(region.name)) {
          skipped.push({ region: region.name, cause: "breaker_open", reason: "breaker open" });
          continue;
        }
        const attempt = await signedFetch({
          signer: { role: "edge", secret: options.edgeSecret, audience: region.name },
          baseUrl: region.url,
          method: call.method,
          pathAndQuery: call.pathAndQuery,
          body: call.body,
          requestId: call.requestId,
          appKey: call.appKey,
          timeoutMs: Math.min(forwardOptions.attemptTimeoutMs ?? timeoutMs, leftMs),
        });
        if (!attempt.ok) {
          const cause: AttemptCause = attempt.error.kind;
          skipped.push({ region: region.name, cause, reason: cause });
          onAttempt({ region: region.name, kind: "skipped", cause, reason: cause });
          continue;
        }
        const response = attempt.value;
        if (response.status === 401) {
          // Either this region's verdict on the client's read key (APP_KEY_REJECTED), or it
          // refuses our signature (not our EDGE_SECRET, a rotation in progress, a REGIONS name
          // that is not its STORMLOG_REGION): then it stored nothing, and another region may take it.
          const text = await readErrorText(response);
          if (parseErrorBody(text)?.error.code === "APP_KEY_REJECTED") {
            onAttempt({ region: region.name, kind: "answered", reason: "answered 401" });
            return ok({ region, response: new Response(text, { status: 401, headers: response.headers }) });
          }
          const cause: AttemptCause = "signature_rejected";
          skipped.push({ region: region.name, cause, reason: "answered 401" });
          onAttempt({ region: region.name, kind: "skipped", cause, reason: "answered 401" });
          continue;
        }
        if (response.status >= 500) {
          const text = await readErrorText(response);
          const code = parseErrorBody(text)?.error.code;
          if (code === "QUORUM_UNAVAILABLE") {
            // The region stored the batch and will replicate it: sending it to another region
            // would store a second origin copy. Its answer (with Retry-After) is the verdict.
            onAttempt({ region: region.name, kind: "answered", reason: `answered ${response.status} ${code}` });
            return ok({ region, response: new Response(text, { status: response.status, headers: response.headers }) });
          }
          const cause = serverErrorCause(code);
          const reason = code === "OVERLOADED" ? `answered ${response.status} ${code}` : `answered ${response.status}`;
          skipped.push({ region: region.name, cause, reason });
          onAttempt({ region: region.name, kind: "skipped", cause, reason });
          continue;
        }
        onAttempt({ region: region.name, kind: "answered", reason: `answered ${response.status}` });
        return ok({ region, response });
      }
      return err({ kind: "regions_unavailable", retryable: true, skipped });
    },
  };
}

/** Error bodies are small; a body past this is not one of ours. */
const errorBodyBytesMax = 4096;

/**
 * The text of an error answer, read within a cap ("" when it is larger, or cut off): bounded by
 * the attempt's timeout too, since the fetch's abort signal also ends its body.
 */
async function readErrorText(response: Response): Promise<string> {
  if (response.body === null) return "";
  try {
    const bytes = await readCapped(response.body.getReader(), errorBodyBytesMax, () => new Error("too large"));
    return new TextDecoder().decode(bytes);
  } catch {
    return "";
  }
}

/**
 * `internal_error` for a 5xx carrying the region's own INTERNAL error body, `overloaded` for its
 * OVERLOADED one, else `unavailable`.
 */
function serverErrorCause(code: ErrorCode | undefined): "internal_error" | "overloaded" | "unavailable" {
  if (code === "INTERNAL") return "internal_error";
  if (code === "OVERLOADED") return "overloaded";
  return "unavailable";
}

/** "no region answered (eu-west: timeout; us-east: answered 500)" */
export function describeUnavailable(failure: { skipped: readonly SkippedRegion[] }): string {
  return `no region answered (${describeSkipped(failure.skipped)})`;
}

/** "eu-west: timeout; us-east: answered 500" */
export function describeSkipped(skipped: readonly SkippedRegion[]): string {
  return skipped.map((skip) => `${skip.region}: ${skip.reason}`).join("; ");
}
