// App-key checks in front of every v1 route except health: what is 401, what is 403, and that a
// refused request never reaches a region.
import { describe, expect, inject, it } from "vitest";
import { mintKey } from "../shared/keys.ts";
import { errorOf, getWithKey, newApp, postBatch, received, sampleUpload } from "./testing/helpers.ts";

async function expectRefused(response: Response, status: number, code: string, message: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get("X-Request-Id")).toBeTruthy();
  const error = await errorOf(response);
  expect(error).toMatchObject({ code, requestId: response.headers.get("X-Request-Id") });
  expect(error.message).toContain(message);
}

describe("app keys", () => {
  it("401 when the Authorization header is missing or not a bearer key", async () => {
    const upload = sampleUpload();
    await expectRefused(await postBatch(null, JSON.stringify(upload)), 401, "UNAUTHORIZED", "missing Authorization");
    const basic = await postBatch(null, JSON.stringify(upload), { authorization: "Basic dXNlcjpwYXNz" });
    await expectRefused(basic, 401, "UNAUTHORIZED", "malformed Authorization");
    expect(await received(upload.batchId)).toEqual([]);
  });

  it("401 for a garbage key and for a key forged without KEY_SECRET", async () => {
    const keys = await newApp();
    const garbage = await postBatch("sl_ingest_not-a-key", JSON.stringify(sampleUpload()));
    await expectRefused(garbage, 401, "UNAUTHORIZED", "unknown app key");
    const forged = await mintKey("some-other-secret-0123456789abcdef", keys.appId, "ingest");
    await expectRefused(
      await postBatch(forged, JSON.stringify(sampleUpload())),
      401,
      "UNAUTHORIZED",
      "unknown app key",
    );
    // A read key with its last character changed: same app, same shape, wrong MAC.
    const tampered = `${keys.read.slice(0, -1)}${keys.read.endsWith("0") ? "1" : "0"}`;
    await expectRefused(await getWithKey("/v1/logs", tampered), 401, "UNAUTHORIZED", "unknown app key");
    expect(await received(keys.appId)).toEqual([]);
  });

  it("401 for a revoked key", async () => {
    const revokedKey = inject("revokedKey");
    const appId = revokedKey.split("_")[2] as string;
    const upload = sampleUpload();
    await expectRefused(await postBatch(revokedKey, JSON.stringify(upload)), 401, "UNAUTHORIZED", "revoked");
    expect(await received(appId)).toEqual([]);
  });

  it("403 for a read key on upload and an ingest key on reads, naming the kind needed", async () => {
    const keys = await newApp();
    await expectRefused(
      await postBatch(keys.read, JSON.stringify(sampleUpload())),
      403,
      "FORBIDDEN",
      "needs an ingest key, not a read key",
    );
    for (const path of ["/v1/logs", "/v1/devices"]) {
      await expectRefused(
        await getWithKey(path, keys.ingest),
        403,
        "FORBIDDEN",
        "needs a read key (or a manage key), not an ingest key",
      );
    }
    expect(await received(keys.appId)).toEqual([]);
  });
});
