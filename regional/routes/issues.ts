/**
 * `GET /internal/v1/apps/:appId/issues?status&cursor&limit` and `GET …/issues/:id` (a read key):
 * the app's issue groups as this region holds them (every region groups the same batches alike).
 * `PUT …/issues/:id` (a manage key) with `{status, updatedAt}`: the edge sends one change to
 * every region; each keeps the latest (store/issue-reads.ts) and answers the status it holds.
 */
import { Hono } from "hono";
import { describeIssues, parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import {
  type IssueDetail,
  type IssuePage,
  issueIdSchema,
  issueQuerySchema,
  regionIssuePatchSchema,
} from "../../shared/issues.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireAppKey } from "../read-key.ts";
import { controlBodyBytesMax, parseAppId, parseJsonBody, readFailureError } from "../request.ts";
import { readSignedBody } from "../signature.ts";

function parseIssueId(value: string): string {
  const parsed = issueIdSchema.safeParse(value);
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssues(parsed.error, "id"));
  return parsed.data;
}

export function issuesRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>()
    .get("/apps/:appId/issues", guard, requireAppKey({ store }, "read"), async (c) => {
      const query = issueQuerySchema.safeParse(c.req.query());
      if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
      const page = await store.issues(parseAppId(c.req.param("appId")), query.data);
      if (!page.ok) throw readFailureError(page.error);
      return c.json(page.value satisfies IssuePage);
    })
    .get("/apps/:appId/issues/:id", guard, requireAppKey({ store }, "read"), async (c) => {
      const issue = await store.issue(parseAppId(c.req.param("appId")), parseIssueId(c.req.param("id")));
      if (!issue) throw new ApiError("NOT_FOUND", "no such issue in this region");
      return c.json(issue satisfies IssueDetail);
    })
    .put("/apps/:appId/issues/:id", guard, requireAppKey({ store }, "manage"), async (c) => {
      const appId = parseAppId(c.req.param("appId"));
      const id = parseIssueId(c.req.param("id"));
      const raw = await readSignedBody(c.req.raw, controlBodyBytesMax);
      const patch = parseWith(regionIssuePatchSchema, parseJsonBody(c.req.header("content-type"), raw));
      const status = await store.changeIssueStatus(appId, id, patch);
      if (!status) throw new ApiError("NOT_FOUND", "no such issue in this region");
      return c.json({ id, status });
    });
}
