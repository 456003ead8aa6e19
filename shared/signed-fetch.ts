/**
 * The one client for calls between tiers: signs the request as its caller's role, for the region
 * it goes to (see signing.ts), carries the request id, and bounds the call with a timeout. Failures to reach the other side are values, with a
 * `retryable` flag, so callers (edge routing, replication, the admin CLI) decide by type.
 */
import { utf8 } from "./encoding.ts";
import { err, ok, type Result } from "./result.ts";
import { type Signer, signRequest } from "./signing.ts";

export type SignedCall = {
  /** The caller's role and secret, and the name of the region called (the audience). */
  signer: Signer;
  baseUrl: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  pathAndQuery: string;
  /** JSON text, already serialized, so a failover re-sends the same bytes. */
  body?: string;
  requestId?: string;
  /** The app key a read acts for (edge reads); signed, and checked by the region itself. */
  appKey?: string;
  timeoutMs: number;
};

export type CallFailure = { kind: "unreachable" | "timeout"; retryable: true; message: string };

/** Resolves to the response whatever its status; only a failure to get one is an error. */
export async function signedFetch(call: SignedCall): Promise<Result<Response, CallFailure>> {
  const body = call.body === undefined ? new Uint8Array(0) : utf8(call.body);
  const headers: Record<string, string> = await signRequest(call.signer, {
    method: call.method,
    pathAndQuery: call.pathAndQuery,
    body,
    appKey: call.appKey,
  });
  if (call.body !== undefined) headers["content-type"] = "application/json";
  if (call.requestId) headers["x-request-id"] = call.requestId;
  try {
    const response = await fetch(new URL(call.pathAndQuery, call.baseUrl), {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : body,
      signal: AbortSignal.timeout(call.timeoutMs),
    });
    return ok(response);
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return err({
      kind: timedOut ? "timeout" : "unreachable",
      retryable: true,
      message: timedOut ? `no answer within ${call.timeoutMs} ms` : String(error),
    });
  }
}
