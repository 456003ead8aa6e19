/**
 * `DELETE /v1/devices/:deviceId` (manage key): erases one device's data in every region. The edge
 * names the erasure (`er_` + 128 random bits) and its time, and PUTs the record to every region at
 * once (erasure/fan-out.ts); it answers 202 with the receipt as soon as one region recorded it,
 * since regions pass erasures on to each other; with none, 503 and Retry-After (nothing was
 * erased: the client asks again, under a new id). Follow it with `GET /v1/erasures/:id`.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError, parseErrorBody } from "../../shared/errors.ts";
import { type ErasureReceipt, erasedDeviceIdSchema, newErasureId } from "../../shared/lifecycle.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { askEveryRegion } from "../erasure/fan-out.ts";
import { unavailable } from "../routing/region-answer.ts";

export const deviceErasure = new Hono<EdgeEnv>().delete("/:deviceId", requireKey("manage"), async (c) => {
  const deviceId = erasedDeviceIdSchema.safeParse(c.req.param("deviceId"));
  if (!deviceId.success) throw new ApiError("BAD_REQUEST", describeIssues(deviceId.error, "deviceId"));
  const erasure = {
    id: newErasureId(),
    appId: c.var.appId,
    deviceId: deviceId.data,
    requestedAt: new Date().toISOString(),
  };
  const replies = await askEveryRegion(c, {
    method: "PUT",
    pathAndQuery: internalPaths.erasure(erasure.appId, erasure.id),
    body: JSON.stringify({ deviceId: erasure.deviceId, requestedAt: erasure.requestedAt }),
  });
  if (replies.some((reply) => reply.kind === "known")) {
    return c.json({ erasure, statusUrl: `/v1/erasures/${erasure.id}` } satisfies ErasureReceipt, 202);
  }
  // Every region that answered refused (the key is not a live manage key there): its verdict.
  const refused = replies.find((reply) => reply.kind === "refused");
  if (refused?.kind === "refused") {
    const message = parseErrorBody(refused.body)?.error.message ?? `answered ${refused.status}`;
    throw new ApiError(refused.status === 401 ? "UNAUTHORIZED" : "BAD_REQUEST", `region ${refused.region}: ${message}`);
  }
  throw unavailable("no region recorded the erasure; nothing was erased, ask again");
});
