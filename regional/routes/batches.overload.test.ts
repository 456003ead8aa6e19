// A region at capacity sheds uploads before storing anything: 503 OVERLOADED with Retry-After.
import { describe, expect, it } from "vitest";
import { utf8 } from "../../shared/encoding.ts";
import { internalPaths } from "../../shared/regions.ts";
import { signRequest } from "../../shared/signing.ts";
import { overloadDefaults } from "../admission.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, signedRequest, testAppId, testSecrets, useTestRegion } from "../testing/harness.ts";
import { storedCounts } from "../testing/rows.ts";

describe.each(drivers)("an overloaded region on %s", (kind) => {
  const t = useTestRegion(kind, { overload: { ...overloadDefaults, uploadsInFlightMax: 1 } });

  /** An upload whose body arrives only when `finish` is called: in flight until then. */
  async function stalledUpload(appId: string, json: unknown) {
    const pathAndQuery = internalPaths.batches(appId);
    const body = utf8(JSON.stringify(json));
    const signer = { role: "edge" as const, secret: testSecrets.edge, audience: "eu-west" };
    const headers = await signRequest(signer, { method: "POST", pathAndQuery, body });
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start(started) {
        controller = started;
      },
    });
    const response = t.region.app.request(pathAndQuery, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const finish = () => {
      controller.enqueue(body);
      controller.close();
    };
    return { response: Promise.resolve(response), finish };
  }

  it("answers 503 OVERLOADED with Retry-After past its in-flight bound, stores nothing, and counts it", async () => {
    const appId = testAppId();
    const shedBefore = (await t.region.metrics.shed.get()).values[0]?.value ?? 0;
    const first = await stalledUpload(appId, makeBatch({ batchId: "first-batch-1", lines: [{ ts: baseTs }] }));
    await expect.poll(() => t.region.admission.inFlight).toBe(1);

    const shed = await signedRequest(t.region.app, "POST", internalPaths.batches(appId), {
      json: makeBatch({ batchId: "second-batch-1", lines: [{ ts: baseTs }] }),
    });
    expect(shed.status).toBe(503);
    expect(shed.headers.get("retry-after")).toBe("1");
    expect(((await shed.json()) as { error: { code: string } }).error.code).toBe("OVERLOADED");
    expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 0, devices: 0 });
    expect((await t.region.metrics.shed.get()).values[0]?.value).toBe(shedBefore + 1);

    // Once the first is answered, the region takes uploads again.
    first.finish();
    expect((await first.response).status).toBe(202);
    expect(t.region.admission.inFlight).toBe(0);
    const again = await signedRequest(t.region.app, "POST", internalPaths.batches(appId), {
      json: makeBatch({ batchId: "second-batch-1", lines: [{ ts: baseTs }] }),
    });
    expect(again.status).toBe(202);
    expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 2, devices: 1 });
  });
});
