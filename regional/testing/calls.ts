/** Signed calls to a region over real HTTP, as the edge, a peer or the admin CLI make them. */

import type { Batch } from "../../shared/batch.ts";
import { internalPaths } from "../../shared/regions.ts";
import type { DigestsResponse } from "../../shared/replication.ts";
import { signedFetch } from "../../shared/signed-fetch.ts";
import { testSecret } from "./harness.ts";

export async function callRegion(
  url: string,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
): Promise<Response> {
  const sent = await signedFetch({
    secret: testSecret,
    baseUrl: url,
    method,
    pathAndQuery: path,
    body: body === undefined ? undefined : JSON.stringify(body),
    timeoutMs: 10_000,
  });
  if (!sent.ok) throw new Error(sent.error.message);
  return sent.value;
}

export function uploadTo(url: string, appId: string, batch: Batch): Promise<Response> {
  return callRegion(url, "POST", internalPaths.batches(appId), batch);
}

/** A region's digests, as the admin CLI's `verify` reads them. */
export async function digestsOf(url: string): Promise<DigestsResponse["buckets"]> {
  const response = await callRegion(url, "GET", internalPaths.syncDigests);
  return ((await response.json()) as DigestsResponse).buckets;
}
