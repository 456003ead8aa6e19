// Uploading batches to a region: receipts, idempotency by batch id, and every refusal a caller can get.
import { describe, expect, it } from "vitest";
import type { Batch } from "../../shared/batch.ts";
import { limits } from "../../shared/limits.ts";
import type { LogPage } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { signRequest } from "../../shared/signing.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import {
  drivers,
  readKeyFor,
  type SignedOptions,
  signedRequest,
  testAppId,
  testSecrets,
  useTestRegion,
} from "../testing/harness.ts";
import { storedCounts } from "../testing/rows.ts";

describe.each(drivers)("POST batches on %s", (kind) => {
  const t = useTestRegion(kind);

  const upload = (appId: string, options: SignedOptions) =>
    signedRequest(t.region.app, "POST", internalPaths.batches(appId), options);

  async function readAll(appId: string): Promise<LogPage> {
    const response = await signedRequest(t.region.app, "GET", internalPaths.logs(appId), {
      appKey: await readKeyFor(t.region, appId),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as LogPage;
  }

  it("stores a batch and answers a receipt", async () => {
    const appId = testAppId();
    const batch = makeBatch({ lines: [{ ts: baseTs }, { ts: baseTs + 1, level: "warn" }, { ts: baseTs + 2 }] });
    const response = await upload(appId, { json: batch, headers: { "x-request-id": "upload-1" } });
    expect(response.status).toBe(202);
    expect(response.headers.get("x-request-id")).toBe("upload-1");
    expect(await response.json()).toEqual({
      batchId: batch.batchId,
      region: "eu-west",
      regions: ["eu-west"],
      accepted: 3,
      duplicate: false,
    });
    expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 1, devices: 1 });
    const page = await readAll(appId);
    expect(page.logs.map((line) => line.text)).toEqual(batch.logs.map((line) => line.text));
  });

  it("answers a repeat of the same batch as a duplicate and stores nothing more", async () => {
    const appId = testAppId();
    const batch = makeBatch({ lines: [{ ts: baseTs, attrs: { b: 2, a: 1 } }] });
    expect((await upload(appId, { json: batch })).status).toBe(202);
    // The same batch serialized with its attrs keys in another order is still the same batch.
    const reordered = { ...batch, logs: [{ ...batch.logs[0], attrs: { a: 1, b: 2 } }] };
    for (const again of [batch, reordered]) {
      const response = await upload(appId, { json: again });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({
        batchId: batch.batchId,
        region: "eu-west",
        regions: ["eu-west"],
        accepted: 1,
        duplicate: true,
      });
    }
    expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 1, devices: 1 });
  });

  it("refuses other content under a stored batch id with 409 and keeps the original", async () => {
    const appId = testAppId();
    const original = makeBatch({ lines: [{ ts: baseTs, text: "the original line" }] });
    expect((await upload(appId, { json: original })).status).toBe(202);
    const changes: Batch[] = [
      { ...original, logs: [{ ts: baseTs, level: "info", text: "a different line" }] },
      { ...original, device: { ...original.device, id: "device-z" } },
      { ...original, logs: [...original.logs, { ts: baseTs + 1, level: "info", text: "one more" }] },
    ];
    for (const changed of changes) {
      const response = await upload(appId, { json: changed });
      expect(response.status).toBe(409);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("BATCH_CONFLICT");
      expect(body.error.message).toContain(original.batchId);
    }
    expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 1, devices: 1 });
    const page = await readAll(appId);
    expect(page.logs.map((line) => [line.text, line.deviceId])).toEqual([["the original line", "device-a"]]);
  });

  describe("bad input is refused with the right status and nothing is stored", () => {
    const appId = testAppId();
    const valid = makeBatch({ lines: [{ ts: baseTs }] });
    const lineText = "x".repeat(limits.lineTextBytesMax + 1);
    const cases: [string, SignedOptions, number, string, string][] = [
      ["malformed JSON", { body: '{"batchId": ' }, 400, "INVALID_BODY", "body: malformed JSON"],
      ["a JSON array", { json: [valid] }, 400, "INVALID_BODY", "body:"],
      [
        "a wrong type",
        { json: { ...valid, logs: [{ ts: "yesterday", level: "info", text: "x" }] } },
        400,
        "INVALID_BODY",
        "logs[0].ts",
      ],
      [
        "an unknown level",
        { json: { ...valid, logs: [{ ts: baseTs, level: "loud", text: "x" }] } },
        400,
        "INVALID_BODY",
        "logs[0].level",
      ],
      ["a missing device", { json: { batchId: valid.batchId, logs: valid.logs } }, 400, "INVALID_BODY", "device"],
      [
        "a missing text",
        { json: { ...valid, logs: [{ ts: baseTs, level: "info" }] } },
        400,
        "INVALID_BODY",
        "logs[0].text",
      ],
      ["an unknown field", { json: { ...valid, extra: true } }, 400, "INVALID_BODY", "extra"],
      ["no lines", { json: { ...valid, logs: [] } }, 400, "INVALID_BODY", "logs"],
      ["a bad batch id", { json: { ...valid, batchId: "short" } }, 400, "INVALID_BODY", "batchId"],
      [
        "too many lines",
        {
          json: makeBatch({ lines: Array.from({ length: limits.batchLinesMax + 1 }, (_, i) => ({ ts: baseTs + i })) }),
        },
        413,
        "PAYLOAD_TOO_LARGE",
        `logs: ${limits.batchLinesMax + 1} lines`,
      ],
      [
        "a line text over the limit",
        { json: makeBatch({ lines: [{ ts: baseTs, text: lineText }] }) },
        413,
        "PAYLOAD_TOO_LARGE",
        "logs[0].text",
      ],
      [
        "a body over the byte limit",
        { body: JSON.stringify(valid).padEnd(limits.inflatedBytesMax + 1, " ") },
        413,
        "PAYLOAD_TOO_LARGE",
        "body:",
      ],
      [
        "a declared length over the byte limit",
        { json: valid, headers: { "content-length": String(limits.inflatedBytesMax + 1) } },
        413,
        "PAYLOAD_TOO_LARGE",
        `body: ${limits.inflatedBytesMax + 1} bytes`,
      ],
      [
        "a body over the byte limit under a declared length within it",
        {
          body: JSON.stringify(valid).padEnd(limits.inflatedBytesMax + 1, " "),
          headers: { "content-length": "100" },
        },
        413,
        "PAYLOAD_TOO_LARGE",
        `body: ${limits.inflatedBytesMax + 1} bytes`,
      ],
      [
        "a body that is not declared as JSON",
        { json: valid, headers: { "content-type": "text/plain" } },
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "content-type",
      ],
    ];

    it.each(cases)("%s", async (_name, options, status, code, message) => {
      const response = await upload(appId, options);
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message).toContain(message);
      expect(body.error.requestId).toBe(response.headers.get("x-request-id"));
      expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 0, devices: 0 });
    });

    it("a streamed body over the byte limit, with no length declared", async () => {
      const chunk = new Uint8Array(1024 * 1024).fill(0x20);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > limits.inflatedBytesMax) controller.close();
          else controller.enqueue(chunk);
          sent += chunk.byteLength;
        },
      });
      // Signed (over a body hash it cannot match): the cap, not the signature, is what stops it.
      const signature = await signRequest(
        { role: "edge", secret: testSecrets.edge, audience: "eu-west" },
        { method: "POST", pathAndQuery: internalPaths.batches(appId), body: "" },
      );
      const response = await t.region.app.request(internalPaths.batches(appId), {
        method: "POST",
        headers: { ...signature, "content-type": "application/json" },
        body: stream,
        duplex: "half",
      } as RequestInit);
      expect(response.status).toBe(413);
      // Reading stopped at the cap, well before the stream's end.
      expect(sent).toBeLessThanOrEqual(limits.inflatedBytesMax + 2 * chunk.byteLength);
    });

    it.each(["NOT-AN-APP-ID-XX", "0123456789abcde", "0123456789ABCDEF"])("a bad app id: %s", async (badId) => {
      const response = await upload(badId, { json: valid });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("appId") });
    });
  });
});
