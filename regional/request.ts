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

/** Reads the whole body, refusing (413) as soon as it passes `bytesMax`. */
export async function readBodyCapped(request: Request, bytesMax: number): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = (bytes: number | string) =>
    new ApiError("PAYLOAD_TOO_LARGE", `body: ${bytes} bytes, at most ${bytesMax}`);
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > bytesMax) throw tooLarge(declared);
  if (!request.body) return new Uint8Array(0);
  return readCapped(request.body.getReader(), bytesMax, () => tooLarge(`more than ${bytesMax}`));
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
