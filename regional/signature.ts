/**
 * Authenticates signed calls (shared/signing.ts) per route group: each route names the one role
 * it accepts (`callerGuard("edge" | "peer" | "admin")`), so a call signed with the edge's secret
 * reaches no peer or admin route. The guard decides from the headers alone, audience and nonce
 * included, before a byte of the body is read; a route then reads its body with its own cap
 * through `readSignedBody`, which checks it against the signed SHA-256. Unauthenticated callers
 * learn only which check failed.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../shared/errors.ts";
import {
  type CallerRole,
  type SignatureFailure,
  signatureHeaders,
  verifyBody,
  verifyRequest,
} from "../shared/signing.ts";
import type { RegionDeps, RegionEnv } from "./context.ts";
import { readBodyCapped } from "./request.ts";

const failureMessages: Record<Exclude<SignatureFailure, "wrong_audience">, string> = {
  unsigned: "unsigned request: internal calls must carry a Stormlog signature",
  bad_signature: "bad signature",
  stale: "stale signature: timestamp outside the freshness window",
  replayed: "replayed request: nonce already used",
};

const noBody = new Uint8Array(0);

export type GuardDeps = Pick<RegionDeps, "region" | "secrets" | "nonces" | "clock">;

/** Middleware for a route that only `role` may call, signed for this region. */
export function callerGuard(
  role: CallerRole,
  { region, secrets, nonces, clock }: GuardDeps,
): MiddlewareHandler<RegionEnv> {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const target = { role, audience: region, method: c.req.method, pathAndQuery: `${url.pathname}${url.search}` };
    const verified = await verifyRequest(secrets[role], target, c.req.raw.headers, nonces, clock.now());
    if (!verified.ok) {
      const message =
        verified.error === "wrong_audience"
          ? `wrong audience: the call is signed for ${JSON.stringify(c.req.header(signatureHeaders.audience))}, this region is ${region}`
          : failureMessages[verified.error];
      throw new ApiError("UNAUTHORIZED", message);
    }
    // A GET has no body to read: it must have been signed as one without.
    if (c.req.method === "GET" && !(await verifyBody(c.req.raw.headers, noBody)).ok) {
      throw new ApiError("UNAUTHORIZED", failureMessages.bad_signature);
    }
    await next();
  };
}

/**
 * The body of a call that passed its guard, read with this route's cap (413 past it, the stream
 * cut off there) and checked against the SHA-256 the caller signed (401 when it differs).
 */
export async function readSignedBody(request: Request, bytesMax: number): Promise<Uint8Array<ArrayBuffer>> {
  const body = await readBodyCapped(request, bytesMax);
  const matches = await verifyBody(request.headers, body);
  if (!matches.ok) throw new ApiError("UNAUTHORIZED", failureMessages.bad_signature);
  return body;
}
