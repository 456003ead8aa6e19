/**
 * What each region holds, listed through the regions' own anti-entropy API (signed as a peer,
 * with the local system's peer secret): every stored (app, batch id) per region. The chaos harness checks acknowledged
 * batches against it, and counts any id a region lists twice.
 */
import { internalPaths, type Region } from "../shared/regions.ts";
import type { DigestsResponse, EntriesResponse } from "../shared/replication.ts";
import { signedFetch } from "../shared/signed-fetch.ts";

export type Holdings = { ids: Set<string>; rows: number };

async function call<T>(region: Region, peerSecret: string, method: "GET" | "POST", path: string, body?: unknown) {
  const sent = await signedFetch({
    signer: { role: "peer", secret: peerSecret, audience: region.name },
    baseUrl: region.url,
    method,
    pathAndQuery: path,
    body: body === undefined ? undefined : JSON.stringify(body),
    timeoutMs: 30_000,
  });
  if (!sent.ok) throw new Error(`${region.name}: ${sent.error.message}`);
  if (!sent.value.ok) throw new Error(`${region.name}: answered ${sent.value.status}`);
  return (await sent.value.json()) as T;
}

export async function holdings(region: Region, peerSecret: string): Promise<Holdings> {
  const { buckets } = await call<DigestsResponse>(region, peerSecret, "GET", internalPaths.syncDigests);
  const ids = new Set<string>();
  let rows = 0;
  for (let start = 0; start < buckets.length; start += 500) {
    const chunk = buckets.slice(start, start + 500).map(({ appId, hour }) => ({ appId, hour }));
    const { entries } = await call<EntriesResponse>(region, peerSecret, "POST", internalPaths.syncEntries, {
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
