// POST /v1/logs (OTLP/HTTP JSON) in workerd against the stand-in regions: the mapping onto a
// normalized batch, content-derived batch ids, partial success, and the OTLP error answers.
import { describe, expect, it } from "vitest";
import { batchJson, parseBatch } from "../../shared/batch.ts";
import { limits } from "../../shared/limits.ts";
import { callWith, errorOf, newApp, received, regionsOf, setMode, spawnRegion } from "../testing/helpers.ts";

function otlp(key: string | null, body: unknown, headers: Record<string, string> = {}, regions = [regionsOf.eu]) {
  return callWith({ regions, env: { SPOOL: undefined } }, "/v1/logs", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const attr = (key: string, value: unknown) => ({
  key,
  value:
    typeof value === "string"
      ? { stringValue: value }
      : typeof value === "number"
        ? { intValue: String(value) }
        : value,
});

const request = (
  records: unknown[],
  resource: unknown[] = [attr("service.name", "api"), attr("service.instance.id", "pod-7")],
) => ({
  resourceLogs: [{ resource: { attributes: resource }, scopeLogs: [{ scope: { name: "http" }, logRecords: records }] }],
});

describe("POST /v1/logs (OTLP)", () => {
  it("maps records onto one batch per resource, with the device from resource attributes", async () => {
    const keys = await newApp();
    const response = await otlp(
      keys.ingest,
      request([
        {
          timeUnixNano: "1780315200123456789",
          severityNumber: 13,
          severityText: "Warning",
          body: { kvlistValue: { values: [attr("route", "/pay"), attr("ms", 5300)] } },
          attributes: [attr("http.status", 504), attr("tags", { arrayValue: { values: [{ boolValue: true }] } })],
          traceId: "5b8efff798038103d269b633813fc60c",
          spanId: "eee19b7ec3c1b174",
        },
        { observedTimeUnixNano: "1780315200200000000", severityText: "CRITICAL", body: { stringValue: "down" } },
      ]),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    const [call] = (await received(keys.appId)).filter((entry) => entry.method === "POST");
    const batch = parseBatch(JSON.parse(call?.body ?? "{}"));
    expect(batch.batchId).toMatch(/^otlp-[0-9a-f]{40}$/);
    expect(batch.device).toEqual({ id: "pod-7", name: "api" });
    expect(batch.logs).toEqual([
      {
        ts: 1780315200123,
        level: "warn",
        tag: "http",
        text: '{"route":"/pay","ms":5300}',
        attrs: {
          "http.status": 504,
          severity_text: "Warning",
          span_id: "eee19b7ec3c1b174",
          tags: [true],
          trace_id: "5b8efff798038103d269b633813fc60c",
        },
      },
      { ts: 1780315200200, level: "fatal", tag: "http", text: "down", attrs: { severity_text: "CRITICAL" } },
    ]);
    expect(call?.body).toBe(batchJson(batch));
  });

  it("gives a resent request the same batch ids", async () => {
    const keys = await newApp();
    const body = request([{ timeUnixNano: "1780315200000000000", severityNumber: 9, body: { stringValue: "hi" } }]);
    expect((await otlp(keys.ingest, body)).status).toBe(200);
    expect((await otlp(keys.ingest, body)).status).toBe(200);
    const posts = (await received(keys.appId)).filter((entry) => entry.method === "POST");
    expect(posts).toHaveLength(2);
    expect(JSON.parse(posts[1]?.body ?? "").batchId).toBe(JSON.parse(posts[0]?.body ?? "").batchId);
  });

  it("rejects only the records a batch would refuse, as a partial success", async () => {
    const keys = await newApp();
    const response = await otlp(
      keys.ingest,
      request([
        { timeUnixNano: "1780315200000000000", severityNumber: 9, body: { stringValue: "ok" } },
        { timeUnixNano: "1780315200000000000", body: { stringValue: "é".repeat(limits.lineTextBytesMax) } },
      ]),
    );
    expect(await response.json()).toEqual({
      partialSuccess: { rejectedLogRecords: 1, errorMessage: expect.stringMatching(/^line 1\.text: \d+ bytes/) },
    });
  });

  it("answers 400, 401, 413 and 415 that exporters do not retry, and asks no region", async () => {
    const keys = await newApp();
    expect((await otlp(keys.ingest, "{")).status).toBe(400);
    const wrongShape = await otlp(keys.ingest, {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 99 }] }] }],
    });
    expect(wrongShape.status).toBe(400);
    expect((await errorOf(wrongShape)).message).toContain("severityNumber");
    expect((await otlp(null, request([]))).status).toBe(401);
    expect((await otlp(keys.ingest, request([]), { "content-type": "text/plain" })).status).toBe(415);
    const huge = await otlp(keys.ingest, "x".repeat(limits.requestBytesMax + 1));
    expect(huge.status).toBe(413);
    expect((await received(keys.appId)).filter((entry) => entry.method === "POST")).toEqual([]);
  });

  it("refuses a resource whose device no region can store, naming the field, and asks no region", async () => {
    const keys = await newApp();
    for (const id of ["pod\u0000", "pod\ud800"]) {
      const response = await otlp(keys.ingest, request([{ body: { stringValue: "x" } }], [attr("device.id", id)]));
      expect(response.status).toBe(400);
      expect((await errorOf(response)).message).toMatch(/^resourceLogs\[0\]\.resource: device\.id: contains/);
    }
    expect((await received(keys.appId)).filter((entry) => entry.method === "POST")).toEqual([]);
  });

  it("refuses an AnyValue nested deeper than the limit without overflowing, and takes one at the limit", async () => {
    const keys = await newApp();
    const nested = (levels: number) => {
      let value: unknown = { intValue: "1" };
      for (let level = 1; level < levels; level++) value = { arrayValue: { values: [value] } };
      return value;
    };
    const record = (body: unknown) => ({ timeUnixNano: "1780315200000000000", body });
    const atLimit = await otlp(keys.ingest, request([record(nested(limits.anyValueDepthMax))]));
    expect(atLimit.status).toBe(200);
    expect(await atLimit.json()).toEqual({});
    const tooDeep = await otlp(keys.ingest, request([record(nested(limits.anyValueDepthMax + 1))]));
    expect(tooDeep.status).toBe(400);
    expect((await errorOf(tooDeep)).message).toMatch(
      new RegExp(
        `^resourceLogs\\[0\\]\\.scopeLogs\\[0\\]\\.logRecords\\[0\\]\\.body\\.arrayValue.*: nested deeper than ${limits.anyValueDepthMax} levels$`,
      ),
    );
    const inAttribute = await otlp(keys.ingest, request([{ attributes: [attr("k", nested(3000))] }]));
    expect(inAttribute.status).toBe(400);
    const badList = await otlp(keys.ingest, request([record({ arrayValue: { values: "x" } })]));
    expect(badList.status).toBe(400);
    expect((await errorOf(badList)).message).toContain("arrayValue");
  });

  it("answers 413 past the records or the batches one request may make, storing none of them", async () => {
    const keys = await newApp();
    const record = { timeUnixNano: "1780315200000000000", body: { stringValue: "x" } };
    const tooMany = await otlp(keys.ingest, request(Array(limits.adapterLinesMax + 1).fill(record)));
    expect(tooMany.status).toBe(413);
    expect((await errorOf(tooMany)).message).toContain(`logRecords: ${limits.adapterLinesMax + 1} in one request`);
    const resources = Array.from({ length: limits.adapterBatchesMax + 1 }, (_, i) => ({
      resource: { attributes: [attr("device.id", `device-${i}`)] },
      scopeLogs: [{ logRecords: [record] }],
    }));
    const fanOut = await otlp(keys.ingest, { resourceLogs: resources });
    expect(fanOut.status).toBe(413);
    expect((await errorOf(fanOut)).code).toBe("PAYLOAD_TOO_LARGE");
    expect((await received(keys.appId)).filter((entry) => entry.method === "POST")).toEqual([]);
  });

  it("splits one resource's records into batches that each span at most the batch span", async () => {
    const keys = await newApp();
    const at = (ms: number) => ({ timeUnixNano: `${ms}000000`, body: { stringValue: `at ${ms}` } });
    const start = 1780315200000;
    const day = limits.batchSpanMsMax;
    // Out of order on purpose: the runs are cut in time order.
    const response = await otlp(
      keys.ingest,
      request([at(start + 2 * day + 5), at(start), at(start + day), at(start + 1)]),
    );
    expect(response.status).toBe(200);
    const posted = (await received(keys.appId)).filter((entry) => entry.method === "POST");
    const spans = posted.map((entry) => parseBatch(JSON.parse(entry.body ?? "")).logs.map((line) => line.ts - start));
    expect(spans).toEqual([[0, 1, day], [2 * day + 5]]);
  });

  it("answers 503 with Retry-After when no region and no spool can take it", async () => {
    const keys = await newApp();
    // The key check needs a region once (the revocation list); then every region goes away.
    expect((await otlp(keys.ingest, request([]))).status).toBe(200);
    const body = request([{ timeUnixNano: "1780315200000000000", body: { stringValue: "x" } }]);
    const response = await otlp(keys.ingest, body, {}, [regionsOf.refused]);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
  });
  it("answers 503 QUORUM_UNAVAILABLE with Retry-After when a region stored a batch short of its quorum, trying no other", async () => {
    const keys = await newApp();
    const stored = await spawnRegion("quorum");
    await setMode(stored, "quorum");
    const body = request([{ timeUnixNano: "1780315200000000000", body: { stringValue: "x" } }]);
    const response = await otlp(keys.ingest, body, {}, [stored, regionsOf.eu]);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect((await errorOf(response)).code).toBe("QUORUM_UNAVAILABLE");
    const posts = (await received(keys.appId)).filter((call) => call.method === "POST");
    expect(posts.map((call) => call.stub)).toEqual([stored.name]);
  });
});

describe("CORS for browser uploads", () => {
  it("answers the preflight of POST /v1/batches and /v1/logs", async () => {
    for (const path of ["/v1/batches", "/v1/logs"]) {
      const response = await callWith({ regions: [regionsOf.eu] }, path, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
      expect(response.status, path).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    }
  });
});
