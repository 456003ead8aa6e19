/**
 * Authenticates calls to `/internal/*` (from the edge, peers and the admin CLI): the HMAC of
 * shared/signing.ts over the method, the path with its query and the exact body bytes. The body
 * is read here once, capped, and handed to the route as `rawBody`, so what is verified is what
 * is parsed. Unauthenticated callers learn only which check failed.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../shared/errors.ts";
import { limits } from "../shared/limits.ts";
import { type SignatureFailure, verifyRequest } from "../shared/signing.ts";
import type { RegionDeps, RegionEnv } from "./context.ts";
import { readBodyCapped } from "./request.ts";

const failureMessages: Record<SignatureFailure, string> = {
  unsigned: "unsigned request: internal calls must carry a Stormlog signature",
  bad_signature: "bad signature",
  stale: "stale signature: timestamp outside the freshness window",
  replayed: "replayed request: nonce already used",
};

export function verifySignature({
  regionSecret,
  nonces,
  clock,
}: Pick<RegionDeps, "regionSecret" | "nonces" | "clock">): MiddlewareHandler<RegionEnv> {
  return async (c, next) => {
    const body = await readBodyCapped(c.req.raw, limits.inflatedBytesMax);
    const url = new URL(c.req.url);
    const verified = await verifyRequest(
      regionSecret,
      { method: c.req.method, pathAndQuery: `${url.pathname}${url.search}`, body },
      c.req.raw.headers,
      nonces,
      clock.now(),
    );
    if (!verified.ok) throw new ApiError("UNAUTHORIZED", failureMessages[verified.error]);
    c.set("rawBody", body);
    await next();
  };
}
