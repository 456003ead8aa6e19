/**
 * `PUT /admin/v1/apps/:appId`: registers an app and its key hashes (the admin CLI calls every
 * region). Repeating the call is harmless: the app is renamed at most, known keys stay as they are.
 */
import { Hono } from "hono";
import { z } from "zod";
import { parseWith } from "../../shared/batch.ts";
import { limits } from "../../shared/limits.ts";
import { storableString } from "../../shared/storable.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { controlBodyBytesMax, parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";
import { newKeySchema } from "../store/types.ts";

const upsertAppSchema = z.strictObject({
  name: storableString().min(1).max(limits.shortFieldLengthMax),
  keys: z.array(newKeySchema).max(100),
});

export function appUpsertRoute({ store, guard }: Pick<RegionDeps, "store"> & Guarded) {
  return new Hono<RegionEnv>().put("/apps/:appId", guard, async (c) => {
    const id = parseAppId(c.req.param("appId"));
    const raw = await readSignedBody(c.req.raw, controlBodyBytesMax);
    const body = parseWith(upsertAppSchema, parseJsonBody(c.req.header("content-type"), raw));
    const app = await store.upsertApp({ id, ...body });
    return c.json({ app });
  });
}
