/**
 * App-key authentication: `Authorization: Bearer <key>`, or for reads the console's session cookie
 * (console/session.ts), which stands for a read key kept at the edge. A key verifies by itself against
 * KEY_SECRET (shared/keys), so no database is asked; the only lookup is the cached list of revoked
 * key hashes (see revocations.ts). A missing, malformed, forged or revoked key is 401; a valid key
 * of the wrong kind (an ingest key reading logs, a read key uploading or erasing) is 403; a manage key
 * reads as a read key does; an app over its
 * rate limit is 429 (rate-limit.ts).
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../shared/errors.ts";
import { type KeyKind, keyAllows, keyHash, verifyKey } from "../shared/keys.ts";
import { consoleReadKey, hasConsoleCookie } from "./console/session.ts";
import type { EdgeEnv } from "./context.ts";
import { enforceRateLimit } from "./rate-limit.ts";
import { unavailable } from "./routing/region-answer.ts";

const kindName = {
  ingest: "an ingest key",
  read: "a read key (or a manage key)",
  manage: "a manage key",
} as const satisfies Record<KeyKind, string>;

const bearerPattern = /^Bearer +(\S+) *$/i;

/**
 * Middleware for routes that need an app key of `kind`; sets `appId`. The key comes from
 * `Authorization: Bearer`, or from `keyHeader` when given (the Bugfender protocol's X-App-Token).
 */
export function requireKey(kind: KeyKind, options: { keyHeader?: string; staleRevocations?: boolean } = {}) {
  return createMiddleware<EdgeEnv>(async (c, next) => {
    // A browser's console reads with its cookie; everything else (and a cookie request that also
    // sends a key) with the key itself.
    const viaConsole =
      kind !== "ingest" && !options.keyHeader && c.req.header("Authorization") === undefined && hasConsoleCookie(c)
        ? await consoleReadKey(c)
        : null;
    const key =
      viaConsole?.key ??
      (options.keyHeader ? c.req.header(options.keyHeader)?.trim() : bearerKey(c.req.header("Authorization")));
    if (!key) throw unauthorized(`missing app key (expected: ${options.keyHeader ?? "Authorization: Bearer"} <key>)`);
    const checked = await checkKey(c, key, kind, options);
    c.set("appId", checked.appId);
    c.set("appKey", key);
    c.set("keyHash", checked.hash);
    await next();
  });
}

/**
 * Verifies an app key of `kind` as every keyed route does: minted with KEY_SECRET, not revoked,
 * the right kind, the app within its rate limit. Throws the ApiError a client sees.
 */
export async function checkKey(
  c: Context<EdgeEnv>,
  key: string,
  kind: KeyKind,
  /**
   * `staleRevocations`: with no list fresh enough, check against the last one fetched, or none:
   * for a route whose answer a revoked key may get (a device's logging settings), so that it keeps
   * answering while every region is down.
   */
  options: { staleRevocations?: boolean } = {},
): Promise<{ appId: string; hash: string }> {
  const verified = await verifyKey(c.var.config.keySecret, key);
  if (!verified) throw unauthorized("unknown app key");

  const { revocations } = c.var.services;
  const fresh = await revocations.current({
    requestId: c.var.requestId,
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  });
  const revoked = fresh ?? (options.staleRevocations ? (revocations.lastKnown?.() ?? new Set<string>()) : null);
  if (revoked === null) {
    // Never checked a revocation list yet (no region answered): refuse rather than let a
    // revoked key in. Any route behind a key needs a region anyway.
    throw unavailable("cannot check the app key: no region answered");
  }
  const hash = await keyHash(key);
  if (revoked.has(hash)) throw unauthorized("app key has been revoked");

  if (!keyAllows(verified.kind, kind)) {
    const held = { ingest: "an ingest key", read: "a read key", manage: "a manage key" }[verified.kind];
    throw new ApiError("FORBIDDEN", `this route needs ${kindName[kind]}, not ${held}`);
  }
  await enforceRateLimit(c.var.bindings, kind, verified.appId);
  return { appId: verified.appId, hash };
}

function bearerKey(header: string | undefined): string | undefined {
  if (!header) throw unauthorized("missing Authorization header (expected: Bearer <app key>)");
  const key = bearerPattern.exec(header)?.[1];
  if (!key) throw unauthorized("malformed Authorization header (expected: Bearer <app key>)");
  return key;
}

function unauthorized(message: string): ApiError {
  return new ApiError("UNAUTHORIZED", message);
}
