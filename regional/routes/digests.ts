/**
 * `GET …/digests`: per app-hour digests of what this region holds. Peers compare them for
 * anti-entropy (`/internal/v1/sync/digests`, signed as `peer`) and the admin CLI for `verify`
 * (`/admin/v1/digests`, signed as `admin`): one handler, mounted once per role. `?format=2`
 * (with `before=<hour>&beforeMinute=<minute>` from anti-entropy) answers the digests kept on write (store/digests.ts);
 * without it, the previous version's format 1, which its regions still ask for during an upgrade.
 */
import { Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { type DigestsResponse, digestsFormat, digestsQuerySchema } from "../../shared/replication.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";

export function digestsRoute({ replicas, guard }: Pick<RegionDeps, "replicas"> & Guarded) {
  return new Hono<RegionEnv>().get("/digests", guard, async (c) => {
    const query = digestsQuerySchema.safeParse(c.req.query());
    if (!query.success) throw new ApiError("BAD_REQUEST", describeIssues(query.error, "query"));
    if (query.data.format === undefined) {
      return c.json({ buckets: await replicas.digests() } satisfies DigestsResponse);
    }
    const { before, beforeMinute } = query.data;
    const buckets = await replicas.heldDigests(
      before === undefined ? undefined : { hour: before, minute: beforeMinute },
    );
    return c.json({ format: digestsFormat, beforeMinute, buckets } satisfies DigestsResponse);
  });
}
