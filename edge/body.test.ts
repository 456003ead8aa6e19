// What POST /v1/batches refuses about a body, and that none of it reaches a region: media type,
// content coding, size on the wire and inflated, gzip bombs, broken gzip, bad JSON, bad fields.
import { describe, expect, it } from "vitest";
import { limits } from "../shared/limits.ts";
import { compress, errorOf, newApp, postBatch, received, sampleUpload } from "./testing/helpers.ts";

async function expectRejected(
  response: Response,
  appId: string,
  status: number,
  code: string,
  message: string | RegExp,
): Promise<void> {
  expect(response.status).toBe(status);
  const error = await errorOf(response);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  expect(error.requestId).toBe(response.headers.get("X-Request-Id"));
  expect(await received(appId)).toEqual([]);
}

/** A body that never declares its length: the edge has to count. */
function streamOf(bytes: Uint8Array, chunkBytes = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkBytes));
      offset += chunkBytes;
    },
  });
}

describe("POST /v1/batches refuses", () => {
  it("a media type other than JSON (415)", async () => {
    const keys = await newApp();
    const body = JSON.stringify(sampleUpload());
    const text = await postBatch(keys.ingest, body, { "content-type": "text/plain" });
    await expectRejected(text, keys.appId, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
    const latin1 = await postBatch(keys.ingest, body, { "content-type": "application/json; charset=iso-8859-1" });
    await expectRejected(latin1, keys.appId, 415, "UNSUPPORTED_MEDIA_TYPE", "charset=iso-8859-1");
  });

  it("a content coding it does not know (415, naming it)", async () => {
    const keys = await newApp();
    const response = await postBatch(keys.ingest, JSON.stringify(sampleUpload()), { "content-encoding": "br" });
    await expectRejected(response, keys.appId, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Encoding br is not supported");
  });

  it("malformed JSON (400)", async () => {
    const keys = await newApp();
    await expectRejected(
      await postBatch(keys.ingest, '{"batchId": '),
      keys.appId,
      400,
      "INVALID_BODY",
      "body: malformed JSON",
    );
    await expectRejected(await postBatch(keys.ingest, ""), keys.appId, 400, "INVALID_BODY", "body: empty");
  });

  it("fields of the wrong type or missing (400 naming the field)", async () => {
    const keys = await newApp();
    const upload = sampleUpload();
    const wrongLevel = { ...upload, logs: [{ ...upload.logs[0], level: 7 }] };
    await expectRejected(
      await postBatch(keys.ingest, JSON.stringify(wrongLevel)),
      keys.appId,
      400,
      "INVALID_BODY",
      /^logs\[0\]\.level: /,
    );
    const { device: _, ...noDevice } = upload;
    await expectRejected(
      await postBatch(keys.ingest, JSON.stringify(noDevice)),
      keys.appId,
      400,
      "INVALID_BODY",
      /^device: /,
    );
    const badTime = { ...upload, logs: [{ ...upload.logs[0], ts: "yesterday" }] };
    await expectRejected(
      await postBatch(keys.ingest, JSON.stringify(badTime)),
      keys.appId,
      400,
      "INVALID_BODY",
      /logs\[0\]\.ts: /,
    );
  });

  it("too many lines, and a line too long (413)", async () => {
    const keys = await newApp();
    const many = sampleUpload(limits.batchLinesMax + 1);
    await expectRejected(
      await postBatch(keys.ingest, JSON.stringify(many)),
      keys.appId,
      413,
      "PAYLOAD_TOO_LARGE",
      `logs: ${limits.batchLinesMax + 1} lines, at most ${limits.batchLinesMax}`,
    );
    const long = sampleUpload(1);
    long.logs[0] = { ...long.logs[0], text: "x".repeat(limits.lineTextBytesMax + 1) } as (typeof long.logs)[0];
    await expectRejected(
      await postBatch(keys.ingest, JSON.stringify(long)),
      keys.appId,
      413,
      "PAYLOAD_TOO_LARGE",
      /^logs\[0\]\.text: /,
    );
  });

  it("a body over requestBytesMax, by its Content-Length and while streaming without one (413)", async () => {
    const keys = await newApp();
    const big = new TextEncoder().encode(
      JSON.stringify({ ...sampleUpload(), pad: "x".repeat(limits.requestBytesMax) }),
    );
    const declared = await postBatch(keys.ingest, big);
    await expectRejected(declared, keys.appId, 413, "PAYLOAD_TOO_LARGE", `body: ${big.byteLength} bytes on the wire`);
    const streamed = await postBatch(keys.ingest, streamOf(big));
    await expectRejected(streamed, keys.appId, 413, "PAYLOAD_TOO_LARGE", `more than ${limits.requestBytesMax} bytes`);
  });

  it("compressed bytes over requestBytesMax (413)", async () => {
    const keys = await newApp();
    // Random bytes do not compress: the gzip body itself is over the wire limit.
    const noise = new Uint8Array(limits.requestBytesMax + 1024);
    for (let offset = 0; offset < noise.byteLength; offset += 65536) {
      crypto.getRandomValues(noise.subarray(offset, offset + 65536));
    }
    const response = await postBatch(keys.ingest, streamOf(await compress(noise)), { "content-encoding": "gzip" });
    await expectRejected(response, keys.appId, 413, "PAYLOAD_TOO_LARGE", `more than ${limits.requestBytesMax} bytes`);
  });

  it("a gzip bomb, cut off at inflatedBytesMax without inflating it (413)", async () => {
    const keys = await newApp();
    const bomb = await compress(new Uint8Array(50 * 1024 * 1024));
    expect(bomb.byteLength).toBeLessThan(limits.requestBytesMax);
    const startedMs = performance.now();
    const response = await postBatch(keys.ingest, bomb, { "content-encoding": "gzip" });
    await expectRejected(
      response,
      keys.appId,
      413,
      "PAYLOAD_TOO_LARGE",
      `decompressed body exceeds ${limits.inflatedBytesMax} bytes`,
    );
    expect(performance.now() - startedMs).toBeLessThan(2000);
  });

  it("a truncated or corrupt compressed body (400)", async () => {
    const keys = await newApp();
    const gzip = await compress(JSON.stringify(sampleUpload(50)));
    const truncated = await postBatch(keys.ingest, gzip.slice(0, gzip.byteLength - 20), { "content-encoding": "gzip" });
    await expectRejected(truncated, keys.appId, 400, "INVALID_BODY", "body: invalid gzip");
    const notGzip = await postBatch(keys.ingest, JSON.stringify(sampleUpload()), { "content-encoding": "gzip" });
    await expectRejected(notGzip, keys.appId, 400, "INVALID_BODY", "body: invalid gzip");
    const deflate = await compress(JSON.stringify(sampleUpload(50)), "deflate");
    deflate[10] = (deflate[10] ?? 0) ^ 0xff;
    const corrupt = await postBatch(keys.ingest, deflate, { "content-encoding": "deflate" });
    await expectRejected(corrupt, keys.appId, 400, "INVALID_BODY", "body: invalid deflate");
  });
});
