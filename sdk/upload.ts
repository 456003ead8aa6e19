/**
 * One upload attempt of one batch to `POST /v1/batches`, and what it means for the queue:
 *  - delivered: any 2xx. The edge answers 202 `{batchId, region, accepted, duplicate}`, or 202
 *    `{spooled: true, …}` when it holds the batch for a region that is down: both mean delivered.
 *  - rejected: a 4xx other than 408/425/429. The batch itself (or the key) is wrong, so sending
 *    it again cannot help: it leaves the queue and the reason is kept on the device.
 *  - retry: no answer, a timeout, 408/425/429 or a 5xx. The batch stays, with its id, and is
 *    sent again after `backoffMs` (exponential with jitter, never before `Retry-After`).
 */
import type { Device, Entry } from "./types.ts";

export type Outcome =
  | { kind: "delivered"; status: number }
  | { kind: "rejected"; status: number; code: string; message: string }
  | { kind: "retry"; status: number | null; retryAfterMs: number | null; message: string };

export type UploadRequest = {
  endpoint: string;
  appKey: string;
  batchId: string;
  device: Device;
  entries: Entry[];
  timeoutMs: number;
  /** Lets the request outlive the page (fetch keepalive); bodies over 64 KiB cannot use it. */
  keepalive?: boolean;
  fetch: typeof fetch;
};

const keepaliveBytesMax = 60 * 1024;

/** The upload body: the wire format of README "POST /v1/batches" (the queue seq stays local). */
export function uploadBody(batchId: string, device: Device, entries: Entry[]): string {
  return JSON.stringify({ batchId, device, logs: entries.map(({ seq: _seq, ...line }) => line) });
}

export async function upload(request: UploadRequest): Promise<Outcome> {
  const body = uploadBody(request.batchId, request.device, request.entries);
  let response: Response;
  try {
    response = await request.fetch(`${request.endpoint.replace(/\/+$/, "")}/v1/batches`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${request.appKey}`,
        "content-type": "application/json",
        // The batch id doubles as the request id: one id to find an upload in every tier's logs.
        "x-request-id": request.batchId,
      },
      body,
      keepalive: request.keepalive === true && body.length <= keepaliveBytesMax,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (error) {
    return { kind: "retry", status: null, retryAfterMs: null, message: String(error) };
  }
  const text = await response.text().catch(() => "");
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  const { code, message } = errorOf(text, status);
  if (status >= 400 && status < 500 && status !== 408 && status !== 425 && status !== 429) {
    return { kind: "rejected", status, code, message };
  }
  return { kind: "retry", status, retryAfterMs: retryAfterMs(response.headers.get("retry-after")), message };
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from now; null when absent or invalid. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * Delay before attempt `attempt + 1`: base × 2^(attempt−1), capped, with "equal jitter" (half
 * fixed, half random) so a fleet of devices coming back together does not stampede; never less
 * than what the server asked for in `Retry-After`.
 */
export function backoffMs(
  attempt: number,
  options: { baseMs: number; maxMs: number; retryAfterMs: number | null; random: () => number },
): number {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exponential / 2 + (exponential / 2) * options.random();
  return Math.max(jittered, options.retryAfterMs ?? 0);
}

/**
 * The edge's `{error: {code, message}}`, checked field by field rather than cast: the SDK ships no
 * schema library (its bundle stays small), so it narrows the parsed JSON by hand.
 */
function errorOf(text: string, status: number): { code: string; message: string } {
  try {
    const body: unknown = JSON.parse(text);
    const error = typeof body === "object" && body !== null && "error" in body ? body.error : null;
    if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
      return { code: error.code, message: String(("message" in error ? error.message : undefined) ?? "") };
    }
  } catch {
    // not an error body (a proxy's HTML page, say)
  }
  return { code: `HTTP_${status}`, message: text.slice(0, 200) };
}
