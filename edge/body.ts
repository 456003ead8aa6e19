/**
 * Reads an upload body once, with a bound on everything: the media type, the content coding, the
 * bytes on the wire (`limits.requestBytesMax`, checked against Content-Length up front and counted
 * while streaming, since a chunked body has no length) and the bytes after decompression
 * (`limits.inflatedBytesMax`). Decompression streams: compressed input is fed in small slices and
 * output is counted as it comes, so a gzip bomb is cut off at the cap instead of being inflated
 * into memory. Only then is the text parsed as JSON, its nesting bounded (without recursion, so no
 * body can overflow a stack later) and validated (shared `parseUpload`).
 */
import { type Batch, parseUpload } from "../shared/batch.ts";
import { readCapped } from "../shared/encoding.ts";
import { ApiError } from "../shared/errors.ts";
import { limits } from "../shared/limits.ts";
import { checkBodyDepth } from "../shared/storable.ts";

type Coding = "gzip" | "deflate";

/** Compressed bytes handed to the decompressor per write: ~1 MiB of output at deflate's worst ratio. */
const inflateSliceBytes = 1024;

/** Reads, bounds, decompresses, parses and validates an upload; throws the ApiError to answer. */
export async function readUpload(request: Request): Promise<Batch> {
  return parseUpload(await readJson(request));
}

/** Reads, bounds, decompresses and parses a JSON body (any protocol: native, OTLP, Bugfender). */
export async function readJson(request: Request): Promise<unknown> {
  checkContentType(request.headers.get("content-type"));
  const bytes = await readBytes(request);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new ApiError("INVALID_BODY", "body: malformed JSON");
  }
  checkBodyDepth(json);
  return json;
}

/**
 * Reads, bounds and decompresses a non-empty body of any media type (the caller checks the type):
 * the same wire and inflated limits for every encoding, so OTLP protobuf is bounded like JSON.
 */
export async function readBytes(request: Request): Promise<Uint8Array> {
  const coding = contentCoding(request.headers.get("content-encoding"));
  const declaredBytes = Number(request.headers.get("content-length") ?? 0);
  if (declaredBytes > limits.requestBytesMax) throw wireTooLarge(`${declaredBytes} bytes`);
  if (request.body === null) throw new ApiError("INVALID_BODY", "body: empty");

  const wire = request.body.getReader();
  const bytes = coding === null ? await readWire(wire) : await inflate(wire, coding);
  if (bytes.byteLength === 0) throw new ApiError("INVALID_BODY", "body: empty");
  return bytes;
}

function checkContentType(header: string | null): void {
  const [mediaType = "", ...params] = (header ?? "").split(";").map((part) => part.trim().toLowerCase());
  const charset = params.find((param) => param.startsWith("charset="))?.slice("charset=".length);
  // RFC 8259: JSON exchanged between systems is UTF-8.
  if (mediaType !== "application/json" || (charset !== undefined && charset.replaceAll('"', "") !== "utf-8")) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `Content-Type must be application/json, got ${header ?? "none"}`);
  }
}

function contentCoding(header: string | null): Coding | null {
  const codings = (header ?? "")
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== "" && part !== "identity");
  if (codings.length === 0) return null;
  // RFC 9110 8.4.1.3: x-gzip is to be treated as gzip.
  const coding = codings[0] === "x-gzip" ? "gzip" : codings[0];
  if (codings.length > 1 || (coding !== "gzip" && coding !== "deflate")) {
    throw new ApiError(
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Encoding ${header} is not supported; use gzip, deflate or identity`,
    );
  }
  return coding;
}

function readWire(wire: ReadableStreamDefaultReader<Uint8Array>): Promise<Uint8Array> {
  return readCapped(wire, limits.requestBytesMax, () => wireTooLarge(`more than ${limits.requestBytesMax} bytes`));
}

async function inflate(wire: ReadableStreamDefaultReader<Uint8Array>, coding: Coding): Promise<Uint8Array> {
  const stream = new DecompressionStream(coding);
  const writer = stream.writable.getWriter();
  const inflated = stream.readable.getReader();

  // Feed the wire bytes in (counting them) while the loop below drains the output.
  const feeding = (async () => {
    let wireBytes = 0;
    for (;;) {
      const { done, value } = await wire.read();
      if (done) break;
      wireBytes += value.byteLength;
      if (wireBytes > limits.requestBytesMax) throw wireTooLarge(`more than ${limits.requestBytesMax} bytes`);
      for (let offset = 0; offset < value.byteLength; offset += inflateSliceBytes) {
        await writer.write(value.subarray(offset, offset + inflateSliceBytes));
      }
    }
    await writer.close();
  })().catch(async (error: unknown) => {
    await Promise.allSettled([writer.abort(error), wire.cancel()]);
    throw error;
  });
  const fed = feeding.then(
    () => null,
    (error: unknown) => error,
  );

  let body: Uint8Array;
  try {
    body = await readCapped(inflated, limits.inflatedBytesMax, () => {
      // The decompressed side is over its cap: stop reading the wire too.
      wire.cancel().catch(() => {});
      return new ApiError("PAYLOAD_TOO_LARGE", `decompressed body exceeds ${limits.inflatedBytesMax} bytes`);
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const feedError = await fed;
    // The wire limit aborts the decompressor too: report the limit, not the abort.
    if (feedError instanceof ApiError) throw feedError;
    throw invalidCoding(coding);
  }
  const feedError = await fed;
  if (feedError instanceof ApiError) throw feedError;
  if (feedError !== null) throw invalidCoding(coding);
  return body;
}

function wireTooLarge(size: string): ApiError {
  return new ApiError("PAYLOAD_TOO_LARGE", `body: ${size} on the wire, at most ${limits.requestBytesMax}`);
}

function invalidCoding(coding: Coding): ApiError {
  return new ApiError("INVALID_BODY", `body: invalid ${coding}`);
}
