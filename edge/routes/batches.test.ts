// POST /v1/batches, the paths that succeed or that a region decides: what reaches the region,
// the receipt the SDK gets back, and a region's 409 passed through without failover.

import { describe, expect, it } from "vitest";
import { batchJson } from "../../shared/batch.ts";
import { compress, errorOf, newApp, normalized, postBatch, received, sampleUpload } from "../testing/helpers.ts";

describe("POST /v1/batches", () => {
  it("forwards the normalized batch, signed, to the first region and answers its receipt", async () => {
    const keys = await newApp();
    const upload = sampleUpload(3);
    const response = await postBatch(keys.ingest, JSON.stringify(upload), { "x-request-id": "req-upload-1" });

    expect(response.status).toBe(202);
    expect(response.headers.get("X-Stormlog-Region")).toBe("eu-west");
    expect(response.headers.get("X-Request-Id")).toBe("req-upload-1");
    expect(await response.json()).toEqual({
      batchId: upload.batchId,
      region: "eu-west",
      regions: ["eu-west"],
      accepted: 3,
      duplicate: false,
    });

    const calls = await received(keys.appId);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      stub: "eu-west",
      method: "POST",
      pathAndQuery: `/internal/v1/apps/${keys.appId}/batches`,
      requestId: "req-upload-1",
      signature: "ok",
    });
    // Epoch-millisecond timestamps and sorted attrs: the canonical bytes, nothing else.
    const expected = normalized(upload);
    expect(calls[0]?.body).toBe(batchJson(expected));
    expect(expected.logs[0]?.ts).toBe(Date.UTC(2026, 10, 1, 10, 0, 0, 250));
    expect(Object.keys(expected.logs[0]?.attrs ?? {})).toEqual(["alpha", "zeta"]);
  });

  it("accepts a gzip body", async () => {
    const keys = await newApp();
    const upload = sampleUpload(5);
    const response = await postBatch(keys.ingest, await compress(JSON.stringify(upload)), {
      "content-encoding": "gzip",
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ batchId: upload.batchId, accepted: 5 });
    const calls = await received(keys.appId);
    expect(calls.map((call) => call.body)).toEqual([batchJson(normalized(upload))]);
  });

  it("accepts a deflate body and a charset on the media type", async () => {
    const keys = await newApp();
    const upload = sampleUpload(1);
    const response = await postBatch(keys.ingest, await compress(JSON.stringify(upload), "deflate"), {
      "content-encoding": "deflate",
      "content-type": "application/json; charset=UTF-8",
    });
    expect(response.status).toBe(202);
    expect(await received(upload.batchId)).toHaveLength(1);
  });

  it("answers a re-sent batch as a duplicate", async () => {
    const keys = await newApp();
    const body = JSON.stringify(sampleUpload(2));
    expect((await postBatch(keys.ingest, body)).status).toBe(202);
    const again = await postBatch(keys.ingest, body);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ duplicate: true, region: "eu-west" });
  });

  it("passes a region's 409 through and does not try the next region", async () => {
    const keys = await newApp();
    const upload = sampleUpload(2);
    expect((await postBatch(keys.ingest, JSON.stringify(upload))).status).toBe(202);

    const changed = { ...upload, logs: [{ ...upload.logs[0], text: "other content" }] };
    const response = await postBatch(keys.ingest, JSON.stringify(changed), { "x-request-id": "req-conflict" });
    expect(response.status).toBe(409);
    expect(response.headers.get("X-Stormlog-Region")).toBe("eu-west");
    expect(await errorOf(response)).toMatchObject({ code: "BATCH_CONFLICT", requestId: "req-conflict" });
    const calls = await received(keys.appId);
    expect(calls.map((call) => call.stub)).toEqual(["eu-west", "eu-west"]);
  });
});
