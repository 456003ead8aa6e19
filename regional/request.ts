/**
 * Reading what a request carries, with every bound checked before the work: the body with a
 * byte cap (a streamed body is cut off, not buffered whole), JSON only when declared as JSON,
 * and the app id in the path.
 */
import { readCapped } from "../shared/encoding.ts";
import { ApiError } from "../shared/errors.ts";
import { checkBodyDepth } from "../shared/storable.ts";

export const appIdPattern = /^[a-z0-9]{16}$/;

/**
 * The body cap of admin and sync calls: lists of at most a thousand hashes, ids or buckets
 * (their schemas bound them), far below an upload's cap.
 */
export const controlBodyBytesMax = 256 * 1024;

/** The app id from a route path, or a 400 saying what an app id looks like. */
export function parseAppId(value: string): string {
  if (!appIdPattern.test(value)) throw new ApiError("BAD_REQUEST", "appId: expected 16 lowercase letters or digits");
  return value;
}

/** A store's refusal of a read, as the client's error: a forged cursor is 400, an unknown line 404. */
export function readFailureError(failure: { kind: "bad_cursor" | "not_found"; message: string }): ApiError {
  return new ApiError(failure.kind === "not_found" ? "NOT_FOUND" : "BAD_REQUEST", failure.message);
}

/**
 * Reads the whole body, refusing (413) as soon as it passes `bytesMax`. A body of a declared
 * length within the cap is read at once (Node's HTTP parser reads no more than it declares); on
 * @hono/node-server that reads the socket directly, where a Web stream per call costs about 0.1 ms
 * of CPU for an 18 KB upload, more than the rest of the call's HTTP. One without a length (chunked)
 * is read as a stream and cut off at the cap.
 */
export async function readBodyCapped(request: Request, bytesMax: number): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = (bytes: number | string) =>
    new ApiError("PAYLOAD_TOO_LARGE", `body: ${bytes} bytes, at most ${bytesMax}`);
  const declared = request.headers.get("content-length");
  // The caller's connection closing mid-body is its failure, not the region's (no 500 logged).
  const cutShort = (error: unknown) => {
    if (error instanceof ApiError) throw error;
    throw new ApiError("BAD_REQUEST", "body: the connection closed before all of it arrived");
  };
  if (declared !== null && /^\d{1,15}$/.test(declared)) {
    if (Number(declared) > bytesMax) throw tooLarge(declared);
    const body = new Uint8Array(await request.arrayBuffer().catch(cutShort));
    // A Request built in this process (tests, app.request) is not held to its header.
    if (body.byteLength > bytesMax) throw tooLarge(body.byteLength);
    return body;
  }
  if (!request.body) return new Uint8Array(0);
  return readCapped(request.body.getReader(), bytesMax, () => tooLarge(`more than ${bytesMax}`)).catch(cutShort);
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes a JSON body; 415 unless it is declared as JSON, 400 when it does not parse or nests too deep. */
export function parseJsonBody(contentType: string | undefined, body: Uint8Array): unknown {
  if (!contentType || !/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "content-type: expected application/json");
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8Decoder.decode(body));
  } catch {
    throw new ApiError("INVALID_BODY", "body: malformed JSON");
  }
  checkBodyDepth(json);
  return json;
}
