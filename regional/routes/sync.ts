/**
 * The anti-entropy API a region serves its peers (signed as `peer`): the versions in chosen
 * buckets, sealed batches by id, and control-plane state; the digests are digests.ts, mounted
 * at `/sync/digests`. Read-only; repairs come back through `/replicate`.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import {
  type ControlState,
  type EntriesResponse,
  entriesRequestSchema,
  type FetchResponse,
  fetchRequestSchema,
} from "../../shared/replication.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { controlBodyBytesMax, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";

export function syncRoute({ replicas, guard }: Pick<RegionDeps, "replicas"> & Guarded) {
  return new Hono<RegionEnv>()
    .post("/sync/entries", guard, async (c) => {
      const body = await readSignedBody(c.req.raw, controlBodyBytesMax);
      const { buckets } = parseWith(entriesRequestSchema, parseJsonBody(c.req.header("content-type"), body));
      return c.json({ entries: await replicas.entries(buckets) } satisfies EntriesResponse);
    })
    .post("/sync/fetch", guard, async (c) => {
      const body = await readSignedBody(c.req.raw, controlBodyBytesMax);
      const { items } = parseWith(fetchRequestSchema, parseJsonBody(c.req.header("content-type"), body));
      return c.json({ batches: await replicas.loadSealed(items) } satisfies FetchResponse);
    })
    .get("/sync/control", guard, async (c) => c.json((await replicas.exportControl()) satisfies ControlState));
}
