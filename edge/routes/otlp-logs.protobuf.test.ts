// POST /v1/logs with OTLP/HTTP protobuf in workerd against the stand-in regions: the same mapping as
// JSON, answers in protobuf (ExportLogsServiceResponse, google.rpc.Status), gzip and the limits.
import generated from "otlp-proto/build/src/generated/root.js";
import { Reader, Writer } from "protobufjs/minimal.js";
import { describe, expect, it } from "vitest";
import { parseBatch } from "../../shared/batch.ts";
import { limits } from "../../shared/limits.ts";
import { callWith, compress, newApp, received, regionsOf } from "../testing/helpers.ts";

type Message = {
  fromObject(value: unknown): unknown;
  encode(message: unknown, writer: Writer): Writer;
  decode(reader: Reader): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
};
const logsV1 = (
  generated as unknown as { opentelemetry: { proto: { collector: { logs: { v1: Record<string, Message> } } } } }
).opentelemetry.proto.collector.logs.v1;
const Request = logsV1.ExportLogsServiceRequest as Message;
const Response = logsV1.ExportLogsServiceResponse as Message;

// A plain Writer: workerd's Buffer cannot run protobufjs' BufferWriter (see ingest/otlp-protobuf.ts).
const encode = (request: unknown) => Request.encode(Request.fromObject(request), new Writer()).finish();

function post(key: string, body: Uint8Array | string, headers: Record<string, string> = {}, regions = [regionsOf.eu]) {
  return callWith({ regions, env: { SPOOL: undefined } }, "/v1/logs", {
    method: "POST",
    headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${key}`, ...headers },
    body,
  });
}

async function answer(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get("content-type")).toBe("application/x-protobuf");
  const bytes = new Uint8Array(await response.arrayBuffer());
  return Response.toObject(Response.decode(new Reader(bytes)), { longs: Number });
}

/** google.rpc.Status {code = 1, message = 2}, read field by field. */
async function status(response: Response): Promise<{ code: number; message: string }> {
  expect(response.headers.get("content-type")).toBe("application/x-protobuf");
  const reader = new Reader(new Uint8Array(await response.arrayBuffer()));
  const read = { code: 0, message: "" };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) read.code = reader.int32();
    else if (tag >>> 3 === 2) read.message = reader.string();
    else reader.skipType(tag & 7);
  }
  return read;
}

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));

const request = (records: unknown[]) => ({
  resourceLogs: [
    {
      resource: { attributes: [str("service.name", "api"), str("service.instance.id", "pod-7")] },
      scopeLogs: [{ scope: { name: "http" }, logRecords: records }],
    },
  ],
});

describe("POST /v1/logs (OTLP protobuf)", () => {
  it("maps protobuf records like JSON ones: ids in hex, AnyValue, severity, device", async () => {
    const keys = await newApp();
    const response = await post(
      keys.ingest,
      encode(
        request([
          {
            timeUnixNano: "1780315200123456789",
            severityNumber: 13,
            severityText: "Warning",
            body: { kvlistValue: { values: [str("route", "/pay"), { key: "ms", value: { intValue: 5300 } }] } },
            attributes: [
              { key: "http.status", value: { intValue: 504 } },
              { key: "tags", value: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }] } } },
            ],
            traceId: hex("5b8efff798038103d269b633813fc60c"),
            spanId: hex("eee19b7ec3c1b174"),
          },
        ]),
      ),
    );
    expect(response.status).toBe(200);
    expect(await answer(response)).toEqual({});
    const [call] = (await received(keys.appId)).filter((entry) => entry.method === "POST");
    const batch = parseBatch(JSON.parse(call?.body ?? "{}"));
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
          tags: [true, 1.5],
          trace_id: "5b8efff798038103d269b633813fc60c",
        },
      },
    ]);
  });

  it("answers a partial success as an ExportLogsServiceResponse", async () => {
    const keys = await newApp();
    const response = await post(
      keys.ingest,
      encode(
        request([
          { timeUnixNano: "1780315200000000000", severityNumber: 9, body: { stringValue: "ok" } },
          { timeUnixNano: "1780315200000000000", body: { stringValue: "é".repeat(limits.lineTextBytesMax) } },
        ]),
      ),
    );
    expect(response.status).toBe(200);
    expect(await answer(response)).toEqual({
      partialSuccess: { rejectedLogRecords: 1, errorMessage: expect.stringMatching(/^line 1\.text: \d+ bytes/) },
    });
  });

  it("takes a gzip body", async () => {
    const keys = await newApp();
    const body = encode(request([{ timeUnixNano: "1780315200000000000", body: { stringValue: "zipped" } }]));
    const response = await post(keys.ingest, await compress(body), { "content-encoding": "gzip" });
    expect(response.status).toBe(200);
    const [call] = (await received(keys.appId)).filter((entry) => entry.method === "POST");
    expect(parseBatch(JSON.parse(call?.body ?? "{}")).logs.map((line) => line.text)).toEqual(["zipped"]);
  });

  it("answers a malformed or invalid message 400 with a google.rpc.Status, and asks no region", async () => {
    const keys = await newApp();
    // Field 1 (resourceLogs) claims 100 bytes and has 1: a truncated message.
    const truncated = await post(keys.ingest, new Uint8Array([0x0a, 100, 0]));
    expect(truncated.status).toBe(400);
    expect(await status(truncated)).toEqual({ code: 3, message: expect.stringContaining("malformed protobuf") });
    // Well-formed protobuf, but a severity number past the enum: refused as the JSON one is.
    const invalid = await post(keys.ingest, encode(request([{ severityNumber: 99 }])));
    expect(invalid.status).toBe(400);
    expect((await status(invalid)).message).toContain("severityNumber");
    const unauthorized = await post("sl_ingest_forged", encode(request([])));
    expect(unauthorized.status).toBe(401);
    expect((await status(unauthorized)).code).toBe(16);
    expect((await received(keys.appId)).filter((entry) => entry.method === "POST")).toEqual([]);
  });

  it("answers 413 with a Status past the wire limit and past the inflated limit", async () => {
    const keys = await newApp();
    const huge = await post(keys.ingest, new Uint8Array(limits.requestBytesMax + 1));
    expect(huge.status).toBe(413);
    expect((await status(huge)).code).toBe(8);
    const bomb = await compress(new Uint8Array(limits.inflatedBytesMax + 1));
    const inflated = await post(keys.ingest, bomb, { "content-encoding": "gzip" });
    expect(inflated.status).toBe(413);
    expect((await status(inflated)).message).toContain("decompressed");
  });

  it("refuses an AnyValue nested past the stack or the depth limit with a 400, never a 5xx", async () => {
    const keys = await newApp();
    const nested = (levels: number) => {
      let value: unknown = { intValue: 1 };
      for (let level = 1; level < levels; level++) value = { arrayValue: { values: [value] } };
      return value;
    };
    const tooDeep = await post(keys.ingest, encode(request([{ body: nested(limits.anyValueDepthMax + 1) }])));
    expect(tooDeep.status).toBe(400);
    expect((await status(tooDeep)).message).toContain("nested deeper");
    // 200,000 levels of body.arrayValue.values[0].arrayValue…, written as raw tags (fromObject would
    // recurse too): the decoder's stack gives out, which is a malformed request, not a 5xx.
    const prefix = [0x0a, 0x7f, 0x12, 0x7f, 0x12, 0x7f, 0x2a, 0x7f]; // resourceLogs, scopeLogs, logRecords, body
    const level = [0x2a, 0x7f, 0x0a, 0x7f]; // AnyValue.arrayValue, ArrayValue.values
    const deep = new Uint8Array(prefix.length + 200_000 * level.length);
    deep.set(prefix);
    for (let at = prefix.length; at < deep.length; at += level.length) deep.set(level, at);
    const bomb = await post(keys.ingest, deep);
    expect(bomb.status).toBe(400);
  });

  it("answers 503 with Retry-After and a Status when no region and no spool can take it", async () => {
    const keys = await newApp();
    // The key check needs a region once (the revocation list); then every region goes away.
    expect((await post(keys.ingest, encode(request([])))).status).toBe(200);
    const body = encode(request([{ timeUnixNano: "1780315200000000000", body: { stringValue: "x" } }]));
    const response = await post(keys.ingest, body, {}, [regionsOf.refused]);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await status(response)).code).toBe(14);
  });
});
