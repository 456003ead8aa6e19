/**
 * `GET …/digests`: per app-hour digests of everything this region holds (count and MD5 of the
 * sorted versions). Peers compare them for anti-entropy (`/internal/v1/sync/digests`, signed as
 * `peer`) and the admin CLI for `verify` (`/admin/v1/digests`, signed as `admin`): one handler,
 * mounted once per role.
 */
import { Hono } from "hono";
import type { DigestsResponse } from "../../shared/replication.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";

export function digestsRoute({ replicas, guard }: Pick<RegionDeps, "replicas"> & Guarded) {
  return new Hono<RegionEnv>().get("/digests", guard, async (c) =>
    c.json({ buckets: await replicas.digests() } satisfies DigestsResponse),
  );
}
