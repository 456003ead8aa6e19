/**
 * `POST /v1/logs` (ingest key, `Authorization: Bearer`): OpenTelemetry logs over OTLP/HTTP, JSON or
 * protobuf (`application/x-protobuf`, ingest/otlp-protobuf.ts), each answered in its own encoding.
 * The request is read and bounded like an upload (413 past the limits, also after gzip), decoded
 * to the JSON shape and validated by one schema, mapped onto batches (ingest/otlp.ts) with ids
 * derived from their content, and delivered (ingest/deliver.ts). Answers follow the OTLP rules:
 * 200 `{}`, or 200 `{partialSuccess: {rejectedLogRecords, errorMessage}}` when some records could
 * not be stored (an ExportLogsServiceResponse in protobuf; every failure a google.rpc.Status);
 * 400 for a malformed request (not to be retried), a resource naming a device no region can
 * store included; 413 past the body limits or past the records and batches one request may make
 * (ingest/batching.ts); 429 (the key check's rate limit) and 503 when no region (and no spool)
 * could take it, both with Retry-After, which exporters honour. `GET /v1/logs` (routes/logs.ts) is the read API.
 */
import { Hono } from "hono";
import { type Batch, parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { requireKey } from "../auth.ts";
import { readBytes, readJson } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { checkDevice, checkRequestBatches, checkRequestLines } from "../ingest/batching.ts";
import { checkLines, contentBatches, deliverBatches, deliveryError } from "../ingest/deliver.ts";
import { mapOtlpLogs, otlpLogsSchema } from "../ingest/otlp.ts";
import { decodeLogsRequest, encodeLogsResponse, encodeStatus, protobufType } from "../ingest/otlp-protobuf.ts";

/** Is this an OTLP/HTTP protobuf request (whose answers, failures included, are protobuf too)? */
function isProtobuf(request: Request): boolean {
  const mediaType = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  return mediaType === protobufType;
}

export const otlpLogs = new Hono<EdgeEnv>();

// The spec wants a protobuf request's failures as a google.rpc.Status body, the key check and the
// rate limit included; a JSON (or unknown) request goes on to the app's JSON error answer.
otlpLogs.onError((error, c) => {
  if (!(error instanceof ApiError) || !isProtobuf(c.req.raw)) throw error;
  const headers: Record<string, string> = { "content-type": protobufType };
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
  return c.body(encodeStatus(error.status, error.message), error.status, headers);
});

otlpLogs.post("/", requireKey("ingest"), async (c) => {
  const protobuf = isProtobuf(c.req.raw);
  const body = protobuf ? decodeLogsRequest(await readBytes(c.req.raw)) : await readJson(c.req.raw);
  const request = parseWith(otlpLogsSchema, body);
  const records = request.resourceLogs.reduce(
    (total, resource) => total + resource.scopeLogs.reduce((sum, scope) => sum + scope.logRecords.length, 0),
    0,
  );
  checkRequestLines("logRecords", records);
  let rejected = 0;
  let firstError: string | null = null;
  const batches: Batch[] = [];
  for (const [index, mapped] of mapOtlpLogs(request, Date.now()).entries()) {
    const device = checkDevice(`resourceLogs[${index}].resource`, mapped.device);
    const lines = mapped.lines;
    // A record a batch would refuse is rejected alone and counted (OTLP partial success).
    const checked = checkLines(lines);
    rejected += checked.rejected;
    firstError ??= checked.firstError;
    batches.push(...(await contentBatches(c.var.config.keySecret, "otlp", c.var.appId, device, checked.lines)));
    checkRequestBatches(batches.length);
  }
  const delivered = await deliverBatches(c, batches);
  if (!delivered.ok) throw deliveryError(delivered.error);
  const partial = rejected === 0 ? null : { rejectedLogRecords: rejected, errorMessage: firstError ?? "rejected" };
  if (protobuf) return c.body(encodeLogsResponse(partial), 200, { "content-type": protobufType });
  return c.json(partial === null ? {} : { partialSuccess: partial }, 200);
});
