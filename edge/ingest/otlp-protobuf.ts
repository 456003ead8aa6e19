/**
 * OTLP/HTTP protobuf for logs: decodes an `ExportLogsServiceRequest` into the same shape the JSON
 * encoding parses to (so ingest/otlp.ts validates and maps both alike), and encodes the answers the
 * spec asks for in protobuf: an `ExportLogsServiceResponse`, or a `google.rpc.Status` for a 4xx/5xx.
 *
 * The messages come from the official OpenTelemetry .proto files as compiled by OpenTelemetry
 * themselves: `otlp-proto` is `@opentelemetry/otlp-transformer@0.212.0`, the last release that
 * ships its protobufjs static module with decoders (later ones only encode requests). Static code
 * needs no `eval`, which workerd forbids (protobufjs' reflection compiles decoders with it).
 *
 * Readers and writers are protobufjs' plain ones, made with `new`: its `create()` picks the Buffer
 * variants when nodejs_compat provides Buffer, and workerd's `Buffer#utf8Write` takes arguments
 * protobufjs does not pass (RangeError on any string of 40 characters or more).
 */

import generated from "otlp-proto/build/src/generated/root.js";
import { Reader, Writer } from "protobufjs/minimal.js";
import { ApiError } from "../../shared/errors.ts";

/** The two generated messages used here (the package types its root only as a protobufjs Root). */
type MessageType = {
  decode(reader: Reader): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
  encode(value: Record<string, unknown>, writer: Writer): Writer;
};
const logsV1 = (
  generated as unknown as {
    opentelemetry: {
      proto: {
        collector: { logs: { v1: Record<"ExportLogsServiceRequest" | "ExportLogsServiceResponse", MessageType> } };
      };
    };
  }
).opentelemetry.proto.collector.logs.v1;

/** The media type of the protobuf encoding (OTLP/HTTP: requests and answers alike). */
export const protobufType = "application/x-protobuf";

/**
 * Decodes a protobuf request into the OTLP/JSON shape: int64s as decimal strings, `bytesValue` as
 * base64 and trace and span ids as hex, as the OTLP spec's JSON mapping has them. Anything that is
 * not a well-formed message (truncated, a wrong wire type, nested past the stack) is a 400.
 *
 * @example decodeLogsRequest(await readBytes(request)) // { resourceLogs: [...] }
 */
export function decodeLogsRequest(bytes: Uint8Array): unknown {
  let request: Record<string, unknown>;
  try {
    const message = logsV1.ExportLogsServiceRequest.decode(new Reader(bytes));
    request = logsV1.ExportLogsServiceRequest.toObject(message, { longs: String, bytes: String });
  } catch {
    throw new ApiError("INVALID_BODY", "body: malformed protobuf ExportLogsServiceRequest");
  }
  for (const resource of (request.resourceLogs ?? []) as { scopeLogs?: { logRecords?: Ids[] }[] }[]) {
    for (const scope of resource.scopeLogs ?? []) {
      for (const record of scope.logRecords ?? []) hexIds(record);
    }
  }
  return { resourceLogs: [], ...request };
}

type Ids = { traceId?: string; spanId?: string };

/** protobuf `bytes` come out of toObject as base64; OTLP's ids are hex in every other encoding. */
function hexIds(record: Ids): void {
  for (const key of ["traceId", "spanId"] as const) {
    const base64 = record[key];
    if (base64 === undefined) continue;
    record[key] = Array.from(atob(base64), (char) => char.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  }
}

/** A 200's body: empty for full success, else the records refused and why. */
export function encodeLogsResponse(
  partial: { rejectedLogRecords: number; errorMessage: string } | null,
): Uint8Array<ArrayBuffer> {
  const value = partial === null ? {} : { partialSuccess: partial };
  return new Uint8Array(logsV1.ExportLogsServiceResponse.encode(value, new Writer()).finish());
}

/** gRPC codes for the statuses this endpoint answers (the Status message carries a gRPC code). */
const grpcCodeOf: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 503: 14 };

/**
 * A `google.rpc.Status {int32 code = 1; string message = 2}`, the body OTLP/HTTP asks for with every
 * 4xx and 5xx. Written with protobufjs' own writer: the OTLP package does not carry google.rpc.
 */
export function encodeStatus(httpStatus: number, message: string): Uint8Array<ArrayBuffer> {
  const status = new Writer()
    .uint32((1 << 3) | 0)
    .int32(grpcCodeOf[httpStatus] ?? 2)
    .uint32((2 << 3) | 2)
    .string(message)
    .finish();
  return new Uint8Array(status);
}
