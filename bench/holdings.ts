/**
 * What each region holds, listed through the regions' own anti-entropy API (signed as a peer,
 * with the local system's peer secret): every stored (app, batch id) per region. The chaos harness checks acknowledged
 * batches against it, and counts any id a region lists twice.
 */

import type { z } from "zod";
import { createPeerClient } from "../regional/replication/peers.ts";
import { systemClock } from "../shared/clock.ts";
import { internalPaths, type Region } from "../shared/regions.ts";
import { digestsResponseSchema, entriesResponseSchema } from "../shared/replication.ts";

export type Holdings = { ids: Set<string>; rows: number };

export async function holdings(region: Region, peerSecret: string): Promise<Holdings> {
  // The regions' own peer client: signed as a peer, each answer parsed with its schema.
  const peers = createPeerClient({ peers: [region], peerSecret, timeoutMs: 30_000, clock: systemClock });
  const call = async <S extends z.ZodType>(method: "GET" | "POST", path: string, schema: S, body?: unknown) => {
    const answer = await peers.call(region, method, path, schema, body);
    if (!answer.ok) throw new Error(`${region.name}: ${answer.error.message}`);
    return answer.value;
  };
  const { buckets } = await call("GET", internalPaths.syncDigests, digestsResponseSchema);
  const ids = new Set<string>();
  let rows = 0;
  for (let start = 0; start < buckets.length; start += 500) {
    const chunk = buckets.slice(start, start + 500).map(({ appId, hour }) => ({ appId, hour }));
    const { entries } = await call("POST", internalPaths.syncEntries, entriesResponseSchema, { buckets: chunk });
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
