/**
 * `POST /v1/batches` (ingest key): the upload endpoint. The body is read once and bounded
 * (body.ts), normalized, serialized once as canonical JSON and forwarded, signed, to the first
 * region that answers. The region's receipt (202 `{batchId, region, accepted, duplicate}`) or its
 * verdict (409 when the batch id was already used for other content) goes back to the SDK.
 */
import { Hono } from "hono";
import { canonicalJson } from "../../shared/batch.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import { readUpload } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { answerFromRegion } from "./region-answer.ts";

export const batches = new Hono<EdgeEnv>().post("/", requireKey("ingest"), async (c) => {
  const batch = await readUpload(c.req.raw);
  const answer = await c.var.services.regions.forward(c.var.config.regions, {
    method: "POST",
    pathAndQuery: internalPaths.batches(c.var.appId),
    body: canonicalJson(batch),
    requestId: c.var.requestId,
  });
  return answerFromRegion(c, answer);
});
