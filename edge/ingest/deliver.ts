/**
 * Delivers normalized batches made by the protocol adapters (OTLP, Bugfender) the way
 * `POST /v1/batches` delivers an SDK's: routed, signed, to the healthiest region, and spooled when
 * no region can take them. The adapters derive each batch id from the batch's content, so a client
 * that retries a whole request after a partial failure stores nothing twice: a batch that already
 * arrived answers as a duplicate. A region's refusal (a 4xx) becomes the adapter's error; no region
 * and no spool is 503 with Retry-After; every region failing on the batch itself is 500 INTERNAL,
 * never spooled.
 */
import type { Context } from "hono";
import { type Batch, batchJson, type Device, parseUpload } from "../../shared/batch.ts";
import { ApiError, errorCodes, isErrorBody } from "../../shared/errors.ts";
import { hmacHex } from "../../shared/hmac.ts";
import { internalPaths } from "../../shared/regions.ts";
import type { EdgeEnv } from "../context.ts";
import { describeUnavailable, type RegionAnswer } from "../region-client.ts";
import { routeContext, routeError, unavailable } from "../routing/region-answer.ts";
import { spoolUpload } from "../spool/spool.ts";
import { batchRuns } from "./batching.ts";

/** Where a batch went: a region's answer (a receipt or its verdict), or the spool. */
export type Delivery = { kind: "region"; answer: RegionAnswer } | { kind: "spooled" };

/**
 * Routes one normalized batch to the healthiest region, failing over within the request, and
 * spools it when no region can take it. Throws 503 (with Retry-After) when neither works.
 */
export async function routeOrSpool(c: Context<EdgeEnv>, batch: Batch): Promise<Delivery> {
  const body = batchJson(batch);
  const answer = await c.var.services.router.forward(
    { method: "POST", pathAndQuery: internalPaths.batches(c.var.appId), body, requestId: c.var.requestId },
    routeContext(c),
  );
  if (answer.ok) return { kind: "region", answer: answer.value };
  // Every region that answered failed on this batch: spooling it would only fail again later.
  if (answer.error.kind === "request_failed") throw routeError(answer.error);

  const because = describeUnavailable(answer.error);
  // A region that rejected our signature is a configuration error: spooling would only hide it.
  if (answer.error.skipped.some((skip) => skip.cause === "signature_rejected")) throw unavailable(because);
  const spooled = await spoolUpload(c.var.bindings, c.var.config.spoolSecret, {
    appId: c.var.appId,
    batchId: batch.batchId,
    keyHash: c.var.keyHash,
    requestId: c.var.requestId,
    body,
  });
  if (!spooled.ok) throw unavailable(`${because}; not spooled: ${spooled.error.message}`);
  c.set("region", "spool");
  return { kind: "spooled" };
}

export type Delivered = { batchId: string; lines: number; region: string; duplicate: boolean };

/** Delivers the batches an adapter made, turning a region's refusal into the adapter's error. */
export async function deliverBatches(c: Context<EdgeEnv>, batches: Batch[]): Promise<Delivered[]> {
  const delivered: Delivered[] = [];
  for (const batch of batches) delivered.push(await deliverOne(c, batch));
  return delivered;
}

async function deliverOne(c: Context<EdgeEnv>, batch: Batch): Promise<Delivered> {
  const delivery = await routeOrSpool(c, batch);
  const lines = batch.logs.length;
  if (delivery.kind === "spooled") return { batchId: batch.batchId, lines, region: "spool", duplicate: false };
  const { region, response } = delivery.answer;
  c.set("region", region.name);
  const json = (await response.json().catch(() => null)) as { duplicate?: boolean } | null;
  if (response.status >= 200 && response.status < 300) {
    return { batchId: batch.batchId, lines, region: region.name, duplicate: !!json?.duplicate };
  }
  if (isErrorBody(json) && (errorCodes as readonly string[]).includes(json.error.code)) {
    throw new ApiError(json.error.code, `region ${region.name}: ${json.error.message}`);
  }
  throw unavailable(`region ${region.name} answered ${response.status}`);
}

/** Derives the content-id key from KEY_SECRET: its own key, never the one app keys are MACed with. */
const contentIdPurpose = "stormlog/content-batch-id/v1";

/**
 * A batch id from a batch's content: the same request retried gives the same ids, on any isolate.
 * It is an HMAC under a key derived from KEY_SECRET (which regions never hold), not a plain hash,
 * so whoever reads the database cannot confirm a guess about a line by hashing it.
 *
 * @example await contentBatchId(config.keySecret, "otlp", appId, { device, logs }) // "otlp-<40 hex>"
 */
export async function contentBatchId(secret: string, prefix: string, appId: string, content: unknown): Promise<string> {
  const key = await hmacHex(secret, contentIdPurpose);
  const mac = await hmacHex(key, `${appId}\n${JSON.stringify(content)}`);
  return `${prefix}-${mac.slice(0, 40)}`;
}

export type CheckedLines = { lines: Batch["logs"]; rejected: number; firstError: string | null };

/**
 * Checks lines one by one against the batch contract (shared `parseUpload`), so one line a batch
 * would refuse (too long, a time out of range) is dropped and counted instead of failing every
 * line sent with it, which protocols that retry until they get a 200 would resend forever.
 */
export function checkLines(device: Device, candidates: unknown[]): CheckedLines {
  const lines: Batch["logs"] = [];
  let rejected = 0;
  let firstError: string | null = null;
  for (const [index, candidate] of candidates.entries()) {
    try {
      lines.push(parseUpload({ batchId: "line-check", device, logs: [candidate] }).logs[0] as Batch["logs"][number]);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      rejected += 1;
      firstError ??= error.message.replace(/^logs\[0\]/, `line ${index}`);
    }
  }
  return { lines, rejected, firstError };
}

/** Batches within the lines and span limits (ingest/batching.ts), each with an id derived from its content. */
export async function contentBatches(
  secret: string,
  prefix: string,
  appId: string,
  device: Device,
  lines: Batch["logs"],
): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (const logs of batchRuns(lines)) {
    batches.push({ batchId: await contentBatchId(secret, prefix, appId, { device, logs }), device, logs });
  }
  return batches;
}
