/**
 * How the edge reaches regional backends. `RegionClient.forward` sends one call, signed as the
 * edge for each region it tries (the region's name is the audience), to the regions in the order
 * it is given (routing/router.ts decides that order from health) and returns the first real
 * answer. A region that cannot be reached, does not answer within the per-attempt timeout,
 * answers 5xx, or rejects the edge's signature is skipped; any other answer (2xx, and 4xx such as
 * a 409 batch conflict, or a 401 APP_KEY_REJECTED: the region refused the client's read key) is
 * the region's verdict and is passed back without trying another region. The body is serialized
 * once by the caller, so every attempt sends the same bytes (signed anew, with a fresh nonce),
 * and an overall deadline bounds the whole call. Each attempt's outcome
 * goes to `onAttempt`, which is how the router feeds its breakers and the health table.
 */
import { parseErrorBody } from "../shared/errors.ts";
import type { Region } from "../shared/regions.ts";
import { err, ok, type Result } from "../shared/result.ts";
import { signedFetch } from "../shared/signed-fetch.ts";

/** How long one region gets to answer before the next one is tried. */
export const attemptTimeoutMs = 2000;

/** How long one call may take over all its attempts. */
export const forwardDeadlineMs = 5000;

/** An attempt with less time left than this is not started. */
const attemptMinMs = 100;

/** Seconds a client should wait when no region answered. */
export const regionRetryAfterSeconds = 5;

export type RegionCall = {
  method: "GET" | "POST";
  pathAndQuery: string;
  /** JSON text, serialized once so a failover re-sends the same bytes. */
  body?: string;
  requestId: string;
  /** The client's app key, on reads: signed, and checked by the region against its own key list. */
  appKey?: string;
};

export type RegionAnswer = { region: Region; response: Response };

/** Why one region was skipped, for logs and for the 503 message. */
export type SkippedRegion = { region: string; reason: string };

export type RegionsUnavailable = { kind: "regions_unavailable"; retryable: true; skipped: SkippedRegion[] };

/**
 * One attempt, as health sees it: `failed` for what says the region is unwell (no connection, no
 * answer in time, 5xx), `answered` for any other answer. A 401 is neither: the region is fine, the
 * edge's secret is not.
 */
export type AttemptOutcome = { region: string; outcome: "answered" | "failed" | "rejected"; reason: string };

export type ForwardOptions = {
  deadlineMs?: number;
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
          skipped.push({ region: region.name, reason: "deadline" });
          continue;
        }
        if (forwardOptions.mayTry && !forwardOptions.mayTry(region.name)) {
          skipped.push({ region: region.name, reason: "breaker open" });
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
          timeoutMs: Math.min(timeoutMs, leftMs),
        });
        if (!attempt.ok) {
          skipped.push({ region: region.name, reason: attempt.error.kind });
          onAttempt({ region: region.name, outcome: "failed", reason: attempt.error.kind });
          continue;
        }
        const response = attempt.value;
        if (response.status === 401) {
          // Either this region's verdict on the client's read key (APP_KEY_REJECTED), or it
          // refuses our signature (not our EDGE_SECRET, a rotation in progress, a REGIONS name
          // that is not its STORMLOG_REGION): then it stored nothing, and another region may take it.
          const text = await response.text().catch(() => "");
          if (parseErrorBody(text)?.error.code === "APP_KEY_REJECTED") {
            onAttempt({ region: region.name, outcome: "answered", reason: "answered 401" });
            return ok({ region, response: new Response(text, { status: 401, headers: response.headers }) });
          }
          skipped.push({ region: region.name, reason: "answered 401" });
          onAttempt({ region: region.name, outcome: "rejected", reason: "answered 401" });
          continue;
        }
        if (response.status >= 500) {
          const reason = `answered ${response.status}`;
          skipped.push({ region: region.name, reason });
          onAttempt({ region: region.name, outcome: "failed", reason });
          await response.body?.cancel();
          continue;
        }
        onAttempt({ region: region.name, outcome: "answered", reason: `answered ${response.status}` });
        return ok({ region, response });
      }
      return err({ kind: "regions_unavailable", retryable: true, skipped });
    },
  };
}

/** "no region answered (eu-west: timeout; us-east: answered 500)" */
export function describeUnavailable(failure: RegionsUnavailable): string {
  const reasons = failure.skipped.map((skip) => `${skip.region}: ${skip.reason}`).join("; ");
  return `no region answered (${reasons})`;
}
