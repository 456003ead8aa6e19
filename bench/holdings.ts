/**
 * What each region holds, listed through the regions' own anti-entropy API (signed as a peer,
 * with the local system's peer secret): every stored (app, batch id) per region. The chaos harness checks acknowledged
 * batches against it, and counts any id a region lists twice.
 */

import type { z } from "zod";
import { internalPaths, type Region } from "../shared/regions.ts";
import { digestsResponseSchema, entriesResponseSchema } from "../shared/replication.ts";
import { signedJson } from "../shared/signed-json.ts";

export type Holdings = { ids: Set<string>; rows: number };

/** A peer call whose answer is parsed with its schema; a bench has no way on without it, so it throws. */
async function call<S extends z.ZodType>(
  region: Region,
  peerSecret: string,
  method: "GET" | "POST",
  path: string,
  schema: S,
  body?: unknown,
): Promise<z.output<S>> {
  const answer = await signedJson(
    {
      signer: { role: "peer", secret: peerSecret, audience: region.name },
      baseUrl: region.url,
      method,
      pathAndQuery: path,
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: 30_000,
    },
    schema,
  );
  if (!answer.ok) throw new Error(`${region.name}: ${answer.error.message}`);
  return answer.value.body;
}

export async function holdings(region: Region, peerSecret: string): Promise<Holdings> {
  const { buckets } = await call(region, peerSecret, "GET", internalPaths.syncDigests, digestsResponseSchema);
  const ids = new Set<string>();
  let rows = 0;
  for (let start = 0; start < buckets.length; start += 500) {
    const chunk = buckets.slice(start, start + 500).map(({ appId, hour }) => ({ appId, hour }));
    const { entries } = await call(region, peerSecret, "POST", internalPaths.syncEntries, entriesResponseSchema, {
      buckets: chunk,
    });
    rows += entries.length;
    for (const entry of entries) ids.add(`${entry.appId}/${entry.batchId}`);
  }
  return { ids, rows };
}

/** The p-th percentile (0-100) of a list of numbers, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
