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
import { attemptTimeoutMs, createRegionClient } from "../region-client.ts";
import { clientLocation } from "../routing/choice.ts";
import { answerFromRegion, forwardRead, regionHeader, unavailable } from "../routing/region-answer.ts";

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
    const plan = await c.var.services.router.plan(clientLocation(c.req.raw.cf));
    const byOrder = [...plan].sort(
      (a, b) => (a.order ?? Number.POSITIVE_INFINITY) - (b.order ?? Number.POSITIVE_INFINITY),
    );
    const client = createRegionClient({ edgeSecret: c.var.config.edgeSecret });
    const call = {
      method: "PUT" as const,
      pathAndQuery: internalPaths.issue(c.var.appId, id),
      body: JSON.stringify(change),
      requestId: c.var.requestId,
      appKey: c.var.appKey,
    };
    const answers = await Promise.all(
      byOrder.map(async ({ region }) => {
        const sent = await client.forward([region], call, { deadlineMs: attemptTimeoutMs });
        return sent.ok ? sent : null;
      }),
    );
    for (const sent of answers) {
      if (sent?.value.response.status !== 200) continue;
      const parsed = issueStatusAnswerSchema.safeParse(await sent.value.response.json().catch(() => null));
      if (!parsed.success) continue;
      c.set("region", sent.value.region.name);
      c.header(regionHeader, sent.value.region.name);
      return c.json(parsed.data);
    }
    // No region holds it but one answered (404, a refused key): that verdict.
    const refused = answers.find((sent) => sent !== null);
    if (refused) return answerFromRegion(c, refused);
    throw unavailable("no region stored the change; nothing changed, try again");
  });
