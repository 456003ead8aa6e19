/**
 * `POST /internal/v1/apps/:appId/batches`: stores one normalized batch (as the edge or a peer
 * forwards it) and answers a receipt. The batch id makes the call idempotent: the same content
 * again is a duplicate (202), other content under a stored id is a conflict (409).
 */
import { Hono } from "hono";
import { parseBatch } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import type { BatchReceipt } from "../../shared/read.ts";
import type { RegionDeps, RegionEnv } from "../context.ts";
import { parseAppId, parseJsonBody } from "../request.ts";

export function batchesRoute({ region, store }: Pick<RegionDeps, "region" | "store">) {
  return new Hono<RegionEnv>().post("/apps/:appId/batches", async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const batch = parseBatch(parseJsonBody(c.req.header("content-type"), c.get("rawBody")));
    const stored = await store.put(appId, batch);
    if (!stored.ok) {
      throw new ApiError(stored.error.kind === "conflict" ? "BATCH_CONFLICT" : "INTEGRITY", stored.error.message);
    }
    const receipt: BatchReceipt = {
      batchId: batch.batchId,
      region,
      accepted: batch.logs.length,
      duplicate: stored.value.duplicate,
    };
    return c.json(receipt, 202);
  });
}
