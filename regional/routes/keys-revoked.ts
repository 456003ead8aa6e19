/** `GET /internal/v1/keys/revoked`: hashes of every revoked key, which the edge caches. */
import { Hono } from "hono";
import type { RevokedKeysAnswer } from "../../shared/admin.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";

export function keysRevokedRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().get("/keys/revoked", guard, async (c) =>
    c.json({ keyHashes: await store.revokedKeyHashes() } satisfies RevokedKeysAnswer),
  );
}
