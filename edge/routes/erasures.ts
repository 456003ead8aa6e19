/**
 * `GET /v1/erasures/:erasureId` (read key): each region's progress on an erasure, asked of every
 * region at once: `completed` (with when), `pending` (it does not know it yet, or is applying it)
 * or `unreachable`. `completed` is true once every region has applied it. 404 when no region knows
 * the id; 503 when none answered.
 */
import { Hono } from "hono";
import { ApiError } from "../../shared/errors.ts";
import { type ErasureRegionState, type ErasureStatus, erasureIdSchema } from "../../shared/lifecycle.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { askEveryRegion } from "../erasure/fan-out.ts";
import { unavailable } from "../routing/region-answer.ts";

export const erasures = new Hono<EdgeEnv>().get("/:erasureId", requireKey("read"), async (c) => {
  const id = erasureIdSchema.safeParse(c.req.param("erasureId"));
  if (!id.success) throw new ApiError("BAD_REQUEST", "erasureId: expected an erasure id (er_ and 32 hex digits)");
  const replies = await askEveryRegion(c, { method: "GET", pathAndQuery: internalPaths.erasure(c.var.appId, id.data) });
  const known = replies.find((reply) => reply.kind === "known");
  if (known?.kind !== "known") {
    if (replies.some((reply) => reply.kind === "unknown"))
      throw new ApiError("NOT_FOUND", `no region knows erasure ${id.data}`);
    throw unavailable("no region answered about the erasure");
  }
  const regions = replies.map((reply): ErasureRegionState => {
    if (reply.kind === "known") {
      const { completedAt } = reply.state;
      return { region: reply.region, state: completedAt ? "completed" : "pending", completedAt };
    }
    return { region: reply.region, state: reply.kind === "unknown" ? "pending" : "unreachable", completedAt: null };
  });
  return c.json({
    erasure: known.state.erasure,
    regions,
    completed: regions.every((region) => region.state === "completed"),
  } satisfies ErasureStatus);
});
