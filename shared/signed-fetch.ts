/**
 * The one client for calls between tiers: signs the request as its caller's role, for the region
 * it goes to (see signing.ts), carries the request id, and bounds the call with a timeout. Failures to reach the other side are values, with a
 * `retryable` flag, so callers (edge routing, replication, the admin CLI) decide by type.
 *
 * A call is signed once (`signCall`) and sent by a transport: `fetch` where the caller needs the
 * response itself (the edge passes answers on), or any `Transport` that reads the whole answer
 * (signed-json.ts), which is how a Node process can send on something cheaper than `fetch`
 * (regional/transport.ts).
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

/** A request as it goes on the wire: signed headers and the body's bytes. */
export type WireRequest = {
  url: URL;
  method: SignedCall["method"];
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer> | undefined;
  timeoutMs: number;
};

/** A whole answer, whatever its status. */
export type WireAnswer = { status: number; text: string };

/** Sends a request and reads its whole answer; only a failure to get one is an error. */
export type Transport = (request: WireRequest) => Promise<Result<WireAnswer, CallFailure>>;

export async function signCall(call: SignedCall): Promise<WireRequest> {
  const body = call.body === undefined ? new Uint8Array(0) : utf8(call.body);
  const headers: Record<string, string> = await signRequest(call.signer, {
    method: call.method,
    pathAndQuery: call.pathAndQuery,
    body,
    appKey: call.appKey,
  });
  if (call.body !== undefined) headers["content-type"] = "application/json";
  if (call.requestId) headers["x-request-id"] = call.requestId;
  return {
    url: new URL(call.pathAndQuery, call.baseUrl),
    method: call.method,
    headers,
    body: call.body === undefined ? undefined : body,
    timeoutMs: call.timeoutMs,
  };
}

/** Resolves to the response whatever its status; only a failure to get one is an error. */
export async function signedFetch(call: SignedCall): Promise<Result<Response, CallFailure>> {
  return send(await signCall(call));
}

/** `fetch` as a transport: the default of signed-json.ts, and what runs on Workers. */
export const fetchTransport: Transport = async (request) => {
  const sent = await send(request);
  if (!sent.ok) return sent;
  const text = await sent.value.text().catch(() => null);
  if (text === null) return err(connectionLost);
  return ok({ status: sent.value.status, text });
};

async function send(request: WireRequest): Promise<Result<Response, CallFailure>> {
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    return ok(response);
  } catch (error) {
    return err(callFailure(error, request.timeoutMs));
  }
}

/** The other side answered, then the connection went: what it meant is unknown. */
export const connectionLost: CallFailure = {
  kind: "unreachable",
  retryable: true,
  message: "connection lost mid-response",
};

/** What a transport's thrown error means: no answer in time, or none at all. */
export function callFailure(error: unknown, timeoutMs: number): CallFailure {
  const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
  return {
    kind: timedOut ? "timeout" : "unreachable",
    retryable: true,
    message: timedOut ? `no answer within ${timeoutMs} ms` : String(error),
  };
}
