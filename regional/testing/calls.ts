/** Signed calls to a region over real HTTP, as the edge, a peer or the admin CLI make them. */

import type { Batch } from "../../shared/batch.ts";
import { internalPaths, type Region } from "../../shared/regions.ts";
import { type DigestsResponse, digestsResponseSchema } from "../../shared/replication.ts";
import { signedFetch } from "../../shared/signed-fetch.ts";
import { signedJson } from "../../shared/signed-json.ts";
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

/** A region's digests, as its peers read them (and parse them). */
export async function digestsOf(region: Region): Promise<DigestsResponse["buckets"]> {
  const answer = await signedJson(
    {
      signer: { role: "peer", secret: testSecrets.peer, audience: region.name },
      baseUrl: region.url,
      method: "GET",
      pathAndQuery: internalPaths.syncDigests,
      timeoutMs: 10_000,
    },
    digestsResponseSchema,
  );
  if (!answer.ok) throw new Error(answer.error.message);
  return answer.value.body.buckets;
}
