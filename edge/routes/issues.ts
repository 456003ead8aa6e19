/**
 * Issues (shared/issues.ts): `GET /v1/issues?status&cursor&limit` and `GET /v1/issues/{id}` (read
 * key) are reads, forwarded to the healthiest region that answers (every region groups the same
 * batches alike). `PATCH /v1/issues/{id}` (manage key; `{"status": "resolved"}`) is stamped with
 * the edge's time and sent to every region at once, as `PATCH /v1/app` is; each keeps the latest
 * change. The answer is the first region's (in routing order) that holds the group, or 503 with
 * Retry-After when none answered, so the client tries again.
 */
import { Hono } from "hono";
import { z } from "zod";
import { describeIssues, parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import {
  issueIdSchema,
  issuePatchSchema,
  issueQuerySchema,
  issueStatusAnswerSchema,
  type RegionIssuePatch,
} from "../../shared/issues.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import { readJson } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { changeEveryRegion, forwardRead } from "../routing/region-answer.ts";

function parseIssueId(value: string): string {
  const parsed = issueIdSchema.safeParse(value);
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssues(parsed.error, "id"));
  return parsed.data;
}

export const issues = new Hono<EdgeEnv>()
  .get("/", requireKey("read"), (c) => forwardRead(c, issueQuerySchema, internalPaths.issues))
  .get("/:id", requireKey("read"), (c) => {
    const id = parseIssueId(c.req.param("id"));
    return forwardRead(c, z.strictObject({}), (appId) => internalPaths.issue(appId, id));
  })
  .patch("/:id", requireKey("manage"), async (c) => {
    const id = parseIssueId(c.req.param("id"));
    const patch = parseWith(issuePatchSchema, await readJson(c.req.raw));
    const change: RegionIssuePatch = { status: patch.status, updatedAt: Date.now() };
    return changeEveryRegion(
      c,
      { pathAndQuery: internalPaths.issue(c.var.appId, id), body: change },
      issueStatusAnswerSchema,
      (stored) => c.json(stored),
    );
  });
