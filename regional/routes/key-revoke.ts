/**
 * `POST /admin/v1/keys/revoke`: marks a key hash revoked. The key's app, kind and label come
 * along so a region that never saw the key still records (and reports) the revocation.
 */
import { Hono } from "hono";
import { z } from "zod";
import { parseWith } from "../../shared/batch.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { appIdPattern, controlBodyBytesMax, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";
import { newKeySchema } from "../store/types.ts";

const revokeSchema = newKeySchema.extend({ appId: z.string().regex(appIdPattern, "expected an app id") });

export function keyRevokeRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().post("/keys/revoke", guard, async (c) => {
    const body = await readSignedBody(c.req.raw, controlBodyBytesMax);
    const key = parseWith(revokeSchema, parseJsonBody(c.req.header("content-type"), body));
    await store.revokeKey(key);
    return c.json({ revoked: true });
  });
}
