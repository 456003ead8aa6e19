/** Signed calls to a region over real HTTP, as the edge, a peer or the admin CLI make them. */

import type { Batch } from "../../shared/batch.ts";
import { internalPaths, type Region } from "../../shared/regions.ts";
import type { DigestsResponse } from "../../shared/replication.ts";
import { signedFetch } from "../../shared/signed-fetch.ts";
import type { CallerRole } from "../../shared/signing.ts";
import { testSecrets } from "./harness.ts";

/** Signed as `role` (the edge by default) for the region called, with the test secrets. */
export async function callRegion(
  region: Region,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
  options: { role?: CallerRole; appKey?: string } = {},
): Promise<Response> {
  const role = options.role ?? "edge";
  const sent = await signedFetch({
    signer: { role, secret: testSecrets[role], audience: region.name },
    baseUrl: region.url,
    method,
    pathAndQuery: path,
    body: body === undefined ? undefined : JSON.stringify(body),
    appKey: options.appKey,
    timeoutMs: 10_000,
  });
  if (!sent.ok) throw new Error(sent.error.message);
  return sent.value;
}

export function uploadTo(region: Region, appId: string, batch: Batch): Promise<Response> {
  return callRegion(region, "POST", internalPaths.batches(appId), batch);
}

/** A region's digests, as its peers read them. */
export async function digestsOf(region: Region): Promise<DigestsResponse["buckets"]> {
  const response = await callRegion(region, "GET", internalPaths.syncDigests, undefined, { role: "peer" });
  return ((await response.json()) as DigestsResponse).buckets;
}
