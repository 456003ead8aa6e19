/**
 * `POST /internal/v1/apps/:appId/batches`: stores one normalized batch as the edge forwards it
 * and answers a receipt once the ack quorum holds it. The batch is committed here (in a group with
 * the uploads arriving with it, store/put-batch.ts), then sent to the peers at once as sealed in
 * memory (regional/replication/quorum.ts); the receipt lists the regions that hold it. Short of the
 * quorum in time, the answer is 503 QUORUM_UNAVAILABLE: the batch stays here, owed to the peers
 * (store/marks.ts), and the caller retries later. A region at capacity refuses an upload before
 * reading or storing it (503 OVERLOADED, admission.ts).
 * The batch id makes the call idempotent: the same content again is a duplicate, which checks the
 * quorum again rather than trusting that an earlier attempt reached it; other content under a
 * stored id is a conflict (409).
 */
import { Hono } from "hono";
import { parseBatch } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { limits } from "../../shared/limits.ts";
import type { BatchReceipt } from "../../shared/read.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";

/**
 * Replication usually catches up within seconds. The edge passes this answer to the client rather
 * than send the batch to another region, which would store a second origin copy.
 */
const quorumRetryAfterSeconds = 2;

export function batchesRoute({
  region,
  store,
  replicator,
  metrics,
  admission,
  guard,
}: Pick<RegionDeps, "region" | "store" | "replicator" | "metrics" | "admission"> & Guarded) {
  return new Hono<RegionEnv>().post("/apps/:appId/batches", guard, async (c) => {
    // Shed before reading the body, let alone storing it (admission.ts).
    const admitted = admission.admit();
    try {
      const stopTimer = metrics.ackSeconds.startTimer();
      const appId = parseAppId(c.req.param("appId"));
      const body = await readSignedBody(c.req.raw, limits.inflatedBytesMax);
      const batch = parseBatch(parseJsonBody(c.req.header("content-type"), body));
      const stored = await store.put(appId, batch, {
        origin: region,
        outboxPeers: replicator.peerNames,
        leaseMs: replicator.leaseMs,
      });
      admitted.stored();
      if (!stored.ok) {
        stopTimer({ outcome: "refused" });
        const code = { conflict: "BATCH_CONFLICT", integrity: "INTEGRITY", erased: "ERASED" } as const;
        throw new ApiError(code[stored.error.kind], stored.error.message);
      }
      const quorum = await replicator.awaitQuorum(
        { appId, batchId: batch.batchId },
        c.get("requestId"),
        stored.value.replica,
      );
      if (!quorum.reached) {
        stopTimer({ outcome: "quorum_unavailable" });
        throw new ApiError(
          "QUORUM_UNAVAILABLE",
          `batch ${batch.batchId} is held by ${quorum.regions.join(", ")} only, short of the ack quorum; it will be replicated, retry later`,
          { retryAfterSeconds: quorumRetryAfterSeconds },
        );
      }
      const receipt: BatchReceipt = {
        batchId: batch.batchId,
        region,
        regions: quorum.regions,
        accepted: batch.logs.length,
        duplicate: stored.value.duplicate,
      };
      stopTimer({ outcome: "acknowledged" });
      metrics.batchesAccepted.inc({ duplicate: String(stored.value.duplicate) });
      if (!stored.value.duplicate) metrics.linesAccepted.inc(batch.logs.length);
      return c.json(receipt, 202);
    } finally {
      admitted.done();
    }
  });
}
