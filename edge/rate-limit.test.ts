// Per-app fairness with the Workers rate-limiting binding, as miniflare runs it: past its limit an
// app's uploads (native, OTLP, Bugfender) or reads get 429 RATE_LIMITED with Retry-After and never
// reach a region, while other apps, and the same app's other kind of request, go on.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rateLimitPeriodSeconds } from "./rate-limit.ts";
import { testRateLimit } from "./testing/fixtures.ts";
import { callWith, errorOf, newApp, received, regionsOf, sampleUpload } from "./testing/helpers.ts";

/** Bindings only the tests have (vitest.config.ts). */
const testLimits = env as unknown as { TEST_UPLOAD_RATE_LIMIT: RateLimit; TEST_READ_RATE_LIMIT: RateLimit };

/** The Worker with the low test limits (wrangler.toml's own are far higher). */
const lowLimits = {
  regions: [regionsOf.eu],
  env: { UPLOAD_RATE_LIMIT: testLimits.TEST_UPLOAD_RATE_LIMIT, READ_RATE_LIMIT: testLimits.TEST_READ_RATE_LIMIT },
};

/**
 * Enough requests to pass the limit even if the limiter's window (a wall-clock minute) turns over
 * once among them: one of the two windows then holds more than the limit.
 */
const requestsPastLimit = 2 * testRateLimit + 1;

const json = { "content-type": "application/json" };
const protocols = {
  native: (key: string) =>
    callWith(lowLimits, "/v1/batches", {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${key}` },
      body: JSON.stringify(sampleUpload()),
    }),
  otlp: (key: string) =>
    callWith(lowLimits, "/v1/logs", {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${key}` },
      body: JSON.stringify({ resourceLogs: [] }),
    }),
  bugfender: (key: string) =>
    callWith(lowLimits, "/bugfender/app/device-status", { method: "POST", headers: { ...json, "X-App-Token": key } }),
};

async function statuses(send: () => Promise<Response>, count = requestsPastLimit) {
  const answers: Response[] = [];
  for (let index = 0; index < count; index++) answers.push(await send());
  return answers;
}

async function expectLimited(response: Response | undefined, what: string) {
  expect(response?.status).toBe(429);
  expect(response?.headers.get("Retry-After")).toBe(String(rateLimitPeriodSeconds));
  expect(await errorOf(response as Response)).toMatchObject({
    code: "RATE_LIMITED",
    message: expect.stringContaining(`over its ${what} rate limit`),
  });
}

describe("per-app rate limits", () => {
  for (const [name, send] of Object.entries(protocols)) {
    it(`answers 429 with Retry-After once an app passes its upload limit (${name}), and forwards none of those`, async () => {
      const keys = await newApp();
      const answers = await statuses(() => send(keys.ingest));
      expect(answers.slice(0, testRateLimit).map((answer) => answer.status)).not.toContain(429);
      const limited = answers.filter((answer) => answer.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      for (const answer of limited) await expectLimited(answer, "upload");
      const stored = answers.filter((answer) => answer.status === 202).length;
      expect((await received(keys.appId)).filter((call) => call.method === "POST")).toHaveLength(stored);
    });
  }

  it("answers an OTLP protobuf request past the limit in protobuf: a Status, with Retry-After", async () => {
    const keys = await newApp();
    const send = () =>
      callWith(lowLimits, "/v1/logs", {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${keys.ingest}` },
        body: new Uint8Array([0x0a, 0x00]), // one empty ResourceLogs
      });
    const limited = (await statuses(send)).find((answer) => answer.status === 429);
    expect(limited?.headers.get("Retry-After")).toBe(String(rateLimitPeriodSeconds));
    expect(limited?.headers.get("content-type")).toBe("application/x-protobuf");
    // google.rpc.Status: code (field 1) 8 RESOURCE_EXHAUSTED, then the message (field 2).
    expect([...new Uint8Array((await limited?.arrayBuffer()) ?? new ArrayBuffer(0)).subarray(0, 3)]).toEqual([
      0x08, 8, 0x12,
    ]);
  });

  it("limits each app on its own, and its reads apart from its uploads", async () => {
    const busy = await newApp();
    const quiet = await newApp();
    const reads = await statuses(() =>
      callWith(lowLimits, "/v1/devices", { headers: { authorization: `Bearer ${busy.read}` } }),
    );
    await expectLimited(
      reads.find((answer) => answer.status === 429),
      "read",
    );
    // The same app still uploads, and another app still reads.
    expect((await protocols.native(busy.ingest)).status).toBe(202);
    const other = await callWith(lowLimits, "/v1/devices", { headers: { authorization: `Bearer ${quiet.read}` } });
    expect(other.status).toBe(200);
  });

  it("limits nothing without the binding", async () => {
    const keys = await newApp();
    const unlimited = { ...lowLimits, env: { ...lowLimits.env, UPLOAD_RATE_LIMIT: undefined } };
    const answers = await statuses(() =>
      callWith(unlimited, "/v1/batches", {
        method: "POST",
        headers: { ...json, authorization: `Bearer ${keys.ingest}` },
        body: JSON.stringify(sampleUpload()),
      }),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(requestsPastLimit).fill(202));
  });
});
