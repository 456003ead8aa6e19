/** `GET /internal/v1/keys/revoked`: hashes of every revoked key, which the edge caches. */
import { Hono } from "hono";
import type { RegionDeps, RegionEnv } from "../context.ts";

export function keysRevokedRoute({ store }: Pick<RegionDeps, "store">) {
  return new Hono<RegionEnv>().get("/keys/revoked", async (c) => c.json({ keyHashes: await store.revokedKeyHashes() }));
}
