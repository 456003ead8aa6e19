/**
 * `POST /internal/v1/replicate`: sealed batches from a peer (its outbox, its upload path, or
 * anti-entropy), stored as sent. Each is applied by the convergence rule (store/replica.ts) and
 * reported with its outcome; a batch that does not open under this region's keyring (a key not
 * yet rolled out here) is left out of the answer, so the sender keeps it and tries again later.
 * A replica is never queued in this region's outbox: that is what keeps replication from looping.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { type ReplicateResponse, replicateBodyBytesMax, replicateRequestSchema } from "../../shared/replication.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";

export function replicateRoute({
  region,
  replicas,
  logger,
  metrics,
  guard,
}: Pick<RegionDeps, "region" | "replicas" | "logger" | "metrics"> & Guarded) {
  return new Hono<RegionEnv>().post("/replicate", guard, async (c) => {
    const raw = await readSignedBody(c.req.raw, replicateBodyBytesMax);
    const body = parseWith(replicateRequestSchema, parseJsonBody(c.req.header("content-type"), raw));
    if (body.from === region)
      throw new ApiError("BAD_REQUEST", `from: ${region} is this region (a peer list names itself)`);
    const results: ReplicateResponse["results"] = [];
    const outcomes = await replicas.applyMany(body.batches);
    for (const [index, batch] of body.batches.entries()) {
      const applied = outcomes[index] as (typeof outcomes)[number];
      metrics.replicasReceived.inc({ outcome: applied.ok ? applied.value : "refused" });
      if (applied.ok) results.push({ appId: batch.appId, batchId: batch.batchId, outcome: applied.value });
      else logger.error({ from: body.from, batchId: batch.batchId, reason: applied.error.message }, "replica refused");
    }
    return c.json({ results } satisfies ReplicateResponse);
  });
}
