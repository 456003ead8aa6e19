/**
 * `POST /v1/logs` (ingest key, `Authorization: Bearer`): OpenTelemetry logs over OTLP/HTTP with
 * JSON encoding (protobuf answers 415). The request is read and bounded like an upload (413 past
 * the limits, also after gzip), mapped onto batches (ingest/otlp.ts) with ids derived from their
 * content, and delivered (ingest/deliver.ts). Answers follow the OTLP rules: 200 `{}`, or 200
 * `{partialSuccess: {rejectedLogRecords, errorMessage}}` when some records could not be stored;
 * 400 for a malformed request (not to be retried), a resource naming a device no region can
 * store included; 413 past the body limits or past the records and batches one request may make
 * (ingest/batching.ts); 503 with Retry-After when no region (and no spool) could take it, which
 * exporters retry. `GET /v1/logs` (routes/logs.ts) is the read API.
 */
import { Hono } from "hono";
import { type Batch, parseWith } from "../../shared/batch.ts";
import { requireKey } from "../auth.ts";
import { readJson } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { checkDevice, checkRequestBatches, checkRequestLines } from "../ingest/batching.ts";
import { checkLines, contentBatches, deliverBatches, deliveryError } from "../ingest/deliver.ts";
import { mapOtlpLogs, otlpLogsSchema } from "../ingest/otlp.ts";

export const otlpLogs = new Hono<EdgeEnv>().post("/", requireKey("ingest"), async (c) => {
  const request = parseWith(otlpLogsSchema, await readJson(c.req.raw));
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
  if (rejected === 0) return c.json({}, 200);
  return c.json({ partialSuccess: { rejectedLogRecords: rejected, errorMessage: firstError ?? "rejected" } }, 200);
});
