/**
 * Per-app fairness: one app cannot starve the others. Each authenticated request counts against
 * its app's limit in a Workers rate-limiting binding (wrangler.toml `[[ratelimits]]`, counted per
 * Cloudflare location): `UPLOAD_RATE_LIMIT` for ingest keys (native uploads, OTLP, the Bugfender
 * protocol) and `READ_RATE_LIMIT` for read and manage keys, so a burst of uploads never locks an app out of
 * its own logs. Past the limit the answer is 429 RATE_LIMITED with `Retry-After`, which the SDK
 * and OTLP exporters honour. Without a binding that kind of request is not limited.
 */
import { ApiError } from "../shared/errors.ts";
import type { KeyKind } from "../shared/keys.ts";
import type { EdgeBindings } from "./config.ts";

/**
 * The period every binding in wrangler.toml counts over. The binding does not say when its window
 * ends, so a limited client waits a whole period: by then a new window has begun.
 */
export const rateLimitPeriodSeconds = 10;

const limitedWhat = { ingest: "upload", read: "read", manage: "read or manage" } as const satisfies Record<
  KeyKind,
  string
>;

/** Counts one request of `kind` for `appId`; throws 429 RATE_LIMITED when the app is over. */
export async function enforceRateLimit(bindings: EdgeBindings, kind: KeyKind, appId: string): Promise<void> {
  const limiter = kind === "ingest" ? bindings.uploadRateLimit : bindings.readRateLimit;
  if (!limiter) return;
  let allowed: boolean;
  try {
    allowed = (await limiter.limit({ key: appId })).success;
  } catch {
    // The limiter failing must not take ingest down with it: fairness is best effort.
    return;
  }
  if (!allowed) {
    throw new ApiError("RATE_LIMITED", `app ${appId} is over its ${limitedWhat[kind]} rate limit`, {
      retryAfterSeconds: rateLimitPeriodSeconds,
    });
  }
}
