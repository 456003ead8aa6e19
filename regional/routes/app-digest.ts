/**
 * `GET /internal/v1/apps/:appId/digest`: this region's count and digest of the app's batches
 * (store/digests.ts), `{region, batches, digest}`. The edge asks every region for it and compares
 * (`GET /v1/regions`), so the console can say whether all regions hold the same. For the holder
 * of a live read key of the app, like every read.
 */
import { Hono } from "hono";
import type { AppDigest } from "../../shared/console-api.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireReadKey } from "../read-key.ts";
import { parseAppId } from "../request.ts";

export function appDigestRoute({ store, region, guard }: Pick<RegionDeps, "store" | "region"> & Guarded) {
  return new Hono<RegionEnv>().get("/apps/:appId/digest", guard, requireReadKey({ store }), async (c) => {
    const held = await store.appDigest(parseAppId(c.req.param("appId")));
    return c.json({ region, ...held } satisfies AppDigest);
  });
}
