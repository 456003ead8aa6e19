/**
 * `POST /v1/batches` (ingest key): the upload endpoint. The body is read once and bounded
 * (body.ts), normalized, serialized once (`batchJson`) and routed, signed, to the healthiest
 * region, failing over to the next within the request. The region's receipt (202 `{batchId,
 * region, accepted, duplicate}`) or its verdict (409 when the batch id was already used for other
 * content) goes back to the SDK. When no region can take it, the batch is spooled (spool/) and
 * the SDK gets 202 `{spooled: true, batchId}`; without a spool, 503 with Retry-After.
 */
import { Hono } from "hono";
import { ok } from "../../shared/result.ts";
import { requireKey } from "../auth.ts";
import { readUpload } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { deliveryError, routeOrSpool } from "../ingest/deliver.ts";
import { answerFromRegion } from "../routing/region-answer.ts";

export const batches = new Hono<EdgeEnv>().post("/", requireKey("ingest"), async (c) => {
  const batch = await readUpload(c.req.raw);
  const delivery = await routeOrSpool(c, batch);
  if (!delivery.ok) throw deliveryError(delivery.error);
  if (delivery.value.kind === "region") return answerFromRegion(c, ok(delivery.value.answer));
  return c.json({ spooled: true, batchId: batch.batchId }, 202);
});
