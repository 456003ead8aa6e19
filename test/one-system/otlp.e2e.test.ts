/**
 * OpenTelemetry logs into Stormlog: the real OTel JS SDK (`@opentelemetry/sdk-logs`) exporting
 * with the real OTLP/HTTP exporters, JSON and protobuf, to the edge's `POST /v1/logs`, read back
 * through `GET /v1/logs` with their severity, scope and attributes; then the OTLP answers an
 * exporter acts on: partial success, 400 (a malformed protobuf too), 401, 415, and a resent
 * request stored once.
 */
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as OTLPProtobufLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { beforeAll, describe, expect, it } from "vitest";
import type { DeviceRecord, LogPage } from "../../shared/read.ts";
import { type JoinedSystem, joinSystem } from "./system.ts";

let system: JoinedSystem;

beforeAll(async () => {
  system = await joinSystem("otlp");
});

function read(pathAndQuery: string) {
  return fetch(`${system.edgeUrl}${pathAndQuery}`, {
    headers: { authorization: `Bearer ${system.app.readKey}` },
  });
}

function postOtlp(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${system.edgeUrl}/v1/logs`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${system.app.ingestKey}`,
      "content-type": "application/json",
      ...headers,
    },
    body: typeof body === "string" || body instanceof Blob ? body : JSON.stringify(body),
  });
}

const request = (deviceId: string, records: unknown[]) => ({
  resourceLogs: [
    {
      resource: { attributes: [{ key: "device.id", value: { stringValue: deviceId } }] },
      scopeLogs: [{ scope: { name: "raw" }, logRecords: records }],
    },
  ],
});

describe("OTLP/HTTP JSON logs", () => {
  it("takes the real OpenTelemetry exporter's records, readable with severity and attributes", async () => {
    const deviceId = `otel-${crypto.randomUUID()}`;
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({
        "service.name": "checkout",
        "service.version": "2.1.0",
        "device.id": deviceId,
        "os.type": "linux",
      }),
      processors: [
        new BatchLogRecordProcessor({
          exporter: new OTLPLogExporter({
            url: `${system.edgeUrl}/v1/logs`,
            headers: { Authorization: `Bearer ${system.app.ingestKey}` },
          }),
        }),
      ],
    });
    const logger = provider.getLogger("payments", "1.4.0");
    const at = Date.UTC(2026, 5, 1, 12, 0, 0);
    logger.emit({ timestamp: at, severityNumber: SeverityNumber.DEBUG, body: "charging card" });
    logger.emit({
      timestamp: at + 1,
      severityNumber: SeverityNumber.WARN,
      severityText: "WARN",
      body: "card declined",
      attributes: { "order.id": "o-17", attempt: 2, retriable: true },
    });
    logger.emit({ timestamp: at + 2, severityNumber: SeverityNumber.ERROR2, body: { code: "E42", declined: true } });
    logger.emit({ timestamp: at + 3, severityNumber: SeverityNumber.FATAL, body: "payment service lost" });
    await provider.forceFlush();
    await provider.shutdown();

    const page = (await (await read(`/v1/logs?device=${deviceId}`)).json()) as LogPage;
    expect(page.logs.map((line) => [line.level, line.text])).toEqual([
      ["debug", "charging card"],
      ["warn", "card declined"],
      ["error", '{"code":"E42","declined":true}'],
      ["fatal", "payment service lost"],
    ]);
    expect(page.logs[1]).toMatchObject({
      ts: new Date(at + 1).toISOString(),
      tag: "payments",
      attrs: { "order.id": "o-17", attempt: 2, retriable: true, severity_text: "WARN" },
    });
    const warnOnly = (await (await read(`/v1/logs?device=${deviceId}&level=error`)).json()) as LogPage;
    expect(warnOnly.logs.map((line) => line.level)).toEqual(["error", "fatal"]);

    const devices = (await (await read("/v1/devices")).json()) as { devices: DeviceRecord[] };
    expect(devices.devices.find((device) => device.id === deviceId)).toMatchObject({
      name: "checkout",
      appVersion: "2.1.0",
      os: "linux",
    });
  });

  it("stores a resent request once and reports rejected records as a partial success", async () => {
    const deviceId = `otel-${crypto.randomUUID()}`;
    const body = request(deviceId, [
      { timeUnixNano: "1780315200000000000", severityNumber: 9, body: { stringValue: "kept" } },
      { timeUnixNano: "631152000000000000", severityNumber: 9, body: { stringValue: "from 1990" } },
      { timeUnixNano: "1780315200001000000", severityNumber: 17, body: { stringValue: "x".repeat(17_000) } },
    ]);
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await postOtlp(body);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        partialSuccess: { rejectedLogRecords: 2, errorMessage: expect.stringContaining("line 1") },
      });
    }
    const page = (await (await read(`/v1/logs?device=${deviceId}`)).json()) as LogPage;
    expect(page.logs.map((line) => line.text)).toEqual(["kept"]);
  });

  it("answers what an exporter must not retry: 400, 401, 415", async () => {
    expect((await postOtlp("{not json")).status).toBe(400);
    expect((await postOtlp({ resourceLogs: "nope" })).status).toBe(400);
    const forged = await postOtlp(request("d", []), { authorization: "Bearer sl_ingest_forged" });
    expect(forged.status).toBe(401);
    expect((await postOtlp("hello", { "content-type": "text/plain" })).status).toBe(415);
  });
});

describe("OTLP/HTTP protobuf logs", () => {
  it("takes the real protobuf exporter's records, readable with severity and attributes", async () => {
    const deviceId = `otel-proto-${crypto.randomUUID()}`;
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ "service.name": "worker", "device.id": deviceId }),
      processors: [
        new BatchLogRecordProcessor({
          exporter: new OTLPProtobufLogExporter({
            url: `${system.edgeUrl}/v1/logs`,
            headers: { Authorization: `Bearer ${system.app.ingestKey}` },
          }),
        }),
      ],
    });
    const logger = provider.getLogger("jobs");
    const at = Date.UTC(2026, 5, 1, 13, 0, 0);
    logger.emit({ timestamp: at, severityNumber: SeverityNumber.INFO, body: "job started" });
    logger.emit({
      timestamp: at + 1,
      severityNumber: SeverityNumber.ERROR,
      severityText: "ERROR",
      body: "job failed",
      attributes: { "job.id": "j-9", attempt: 3, fatal: false, ratio: 0.5 },
    });
    await provider.forceFlush();
    await provider.shutdown();

    const page = (await (await read(`/v1/logs?device=${deviceId}`)).json()) as LogPage;
    expect(page.logs.map((line) => [line.level, line.text, line.tag])).toEqual([
      ["info", "job started", "jobs"],
      ["error", "job failed", "jobs"],
    ]);
    expect(page.logs[1]).toMatchObject({
      ts: new Date(at + 1).toISOString(),
      attrs: { "job.id": "j-9", attempt: 3, fatal: false, ratio: 0.5, severity_text: "ERROR" },
    });
  });

  it("answers a malformed protobuf 400 with a google.rpc.Status body", async () => {
    // Field 1 (resourceLogs) claims 100 bytes and carries none: truncated.
    const response = await postOtlp(new Blob([new Uint8Array([0x0a, 100])]), {
      "content-type": "application/x-protobuf",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/x-protobuf");
    const body = new Uint8Array(await response.arrayBuffer());
    // google.rpc.Status: field 1 (code) = 3 INVALID_ARGUMENT, then field 2, the message.
    expect([...body.subarray(0, 3)]).toEqual([0x08, 3, 0x12]);
    expect(new TextDecoder().decode(body.subarray(4))).toContain("malformed protobuf");
  });
});
