/**
 * How the edge reaches regional backends. `RegionClient.forward` sends one signed call to the
 * regions in their configured order and returns the first real answer. A region that cannot be
 * reached, does not answer within the per-attempt timeout, answers 5xx, or rejects the edge's
 * signature is skipped; any other answer (2xx, and 4xx such as a 409 batch conflict) is the
 * region's verdict and is passed back without trying another region. The body is serialized once
 * by the caller, so every attempt sends the same bytes (signed anew, with a fresh nonce).
 *
 * The interface is small on purpose: a health-aware client (a Durable Object remembering which
 * regions are down) can replace `createRegionClient` without touching the routes.
 */
import type { Region } from "../shared/regions.ts";
import { err, ok, type Result } from "../shared/result.ts";
import { signedFetch } from "../shared/signed-fetch.ts";

/** How long one region gets to answer before the next one is tried. */
export const attemptTimeoutMs = 2000;

/** Seconds a client should wait when no region answered. */
export const regionRetryAfterSeconds = 5;

export type RegionCall = {
  method: "GET" | "POST";
  pathAndQuery: string;
  /** JSON text, serialized once so a failover re-sends the same bytes. */
  body?: string;
  requestId: string;
};

export type RegionAnswer = { region: Region; response: Response };

/** Why one region was skipped, for logs and for the 503 message. */
export type SkippedRegion = { region: string; reason: string };

export type RegionsUnavailable = { kind: "regions_unavailable"; retryable: true; skipped: SkippedRegion[] };

export interface RegionClient {
  forward(regions: readonly Region[], call: RegionCall): Promise<Result<RegionAnswer, RegionsUnavailable>>;
}

/** The real client: signed HTTP calls with a timeout per attempt. */
export function createRegionClient(options: { regionSecret: string; timeoutMs?: number }): RegionClient {
  const timeoutMs = options.timeoutMs ?? attemptTimeoutMs;
  return {
    async forward(regions, call) {
      const skipped: SkippedRegion[] = [];
      for (const region of regions) {
        const attempt = await signedFetch({
          secret: options.regionSecret,
          baseUrl: region.url,
          method: call.method,
          pathAndQuery: call.pathAndQuery,
          body: call.body,
          requestId: call.requestId,
          timeoutMs,
        });
        if (!attempt.ok) {
          skipped.push({ region: region.name, reason: attempt.error.kind });
          continue;
        }
        const response = attempt.value;
        // A 401 means this region does not share our REGION_SECRET (a rotation in progress):
        // it stored nothing, so another region may take the call.
        if (response.status >= 500 || response.status === 401) {
          skipped.push({ region: region.name, reason: `answered ${response.status}` });
          await response.body?.cancel();
          continue;
        }
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
