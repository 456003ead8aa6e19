/**
 * The anti-entropy API a region serves its peers and the admin CLI (`verify`): per app-hour
 * digests, the versions in chosen buckets, sealed batches by id, and control-plane state.
 * Read-only, signed like every internal call; repairs come back through `/replicate`.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import {
  type ControlState,
  type DigestsResponse,
  type EntriesResponse,
  entriesRequestSchema,
  type FetchResponse,
  fetchRequestSchema,
} from "../../shared/replication.ts";
import type { RegionDeps, RegionEnv } from "../context.ts";
import { parseJsonBody } from "../request.ts";

export function syncRoute({ replicas }: Pick<RegionDeps, "replicas">) {
  return new Hono<RegionEnv>()
    .get("/sync/digests", async (c) => c.json({ buckets: await replicas.digests() } satisfies DigestsResponse))
    .post("/sync/entries", async (c) => {
      const { buckets } = parseWith(
        entriesRequestSchema,
        parseJsonBody(c.req.header("content-type"), c.get("rawBody")),
      );
      return c.json({ entries: await replicas.entries(buckets) } satisfies EntriesResponse);
    })
    .post("/sync/fetch", async (c) => {
      const { items } = parseWith(fetchRequestSchema, parseJsonBody(c.req.header("content-type"), c.get("rawBody")));
      return c.json({ batches: await replicas.loadSealed(items) } satisfies FetchResponse);
    })
    .get("/sync/control", async (c) => c.json((await replicas.exportControl()) satisfies ControlState));
}
