/**
 * A region serves an app's logs and devices only to the holder of one of its read keys, checked
 * here and not only at the edge: the edge forwards the client's key in a signed header, and the
 * region looks its SHA-256 up in its own `api_keys` (it never sees the key secret). So the edge's
 * secret alone, leaked, reads nothing. A refusal is 401 APP_KEY_REJECTED, the one 401 the edge
 * passes on to its client (any other 401 refuses the edge's own signature).
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../shared/errors.ts";
import { type KeyKind, keyAllows, keyHash } from "../shared/keys.ts";
import { signatureHeaders } from "../shared/signing.ts";
import type { RegionDeps, RegionEnv } from "./context.ts";
import { parseAppId } from "./request.ts";

/** Middleware for `/apps/:appId/…` reads, after the edge's guard (which covers the key header). */
export function requireReadKey(deps: Pick<RegionDeps, "store">): MiddlewareHandler<RegionEnv> {
  return requireAppKey(deps, "read");
}

/**
 * The same check for any kind: `manage` for what changes an app's settings or erases its data.
 * A manage key passes a read check too (shared/keys.ts `keyAllows`); `any` takes any live key of
 * the app (what a device reads of its own settings, which an ingest key must reach too).
 */
export function requireAppKey(
  { store }: Pick<RegionDeps, "store">,
  kind: KeyKind | "any",
): MiddlewareHandler<RegionEnv> {
  return async (c, next) => {
    const appId = parseAppId(c.req.param("appId") ?? "");
    const key = c.req.header(signatureHeaders.appKey);
    if (!key)
      throw rejected(`missing app key: the request must carry the client's ${kind} key (${signatureHeaders.appKey})`);
    const known = await store.keyByHash(await keyHash(key));
    if (!known || known.appId !== appId) throw rejected(`app key is not a key of app ${appId} in this region`);
    if (known.revoked) throw rejected("app key has been revoked");
    // A live key of this app, of a kind that may not do this: the edge's 403 too (edge/auth.ts).
    if (kind !== "any" && !keyAllows(known.kind, kind))
      throw new ApiError("FORBIDDEN", `this route needs a ${kind} key, not a ${known.kind} key`);
    await next();
  };
}

function rejected(message: string): ApiError {
  return new ApiError("APP_KEY_REJECTED", message);
}
