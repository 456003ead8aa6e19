/**
 * Delivers normalized batches made by the protocol adapters (OTLP, Bugfender) the way
 * `POST /v1/batches` delivers an SDK's: routed, signed, to the healthiest region, and spooled when
 * no region can take them. The adapters derive each batch id from the batch's content, so a client
 * that retries a whole request after a partial failure stores nothing twice: a batch that already
 * arrived answers as a duplicate. Failures are values (`DeliveryFailure`): a region's refusal (a
 * 4xx) with its code, so an adapter can tell a resent batch's conflict from an error; no region and
 * no spool (503 with Retry-After); every region failing on the batch itself (500 INTERNAL), never
 * spooled. `deliveryError` turns one into the client's answer.
 */
import type { Context } from "hono";
import { type Batch, batchJson, checkLine, type Device } from "../../shared/batch.ts";
import { ApiError, type ErrorCode, errorBodySchema } from "../../shared/errors.ts";
import { hmacHex } from "../../shared/hmac.ts";
import { batchReceiptSchema } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import type { EdgeEnv } from "../context.ts";
import { describeUnavailable, type RegionAnswer } from "../region-client.ts";
import { regionRetryAfterSeconds, routeContext, routeError, unavailable } from "../routing/region-answer.ts";
import type { RequestFailed } from "../routing/router.ts";
import { spoolUpload } from "../spool/spool.ts";
import { batchRuns } from "./batching.ts";

/** Where a batch went: a region's answer (a receipt or its verdict), or the spool. */
export type Delivery = { kind: "region"; answer: RegionAnswer } | { kind: "spooled" };

/**
 * Why a batch was not delivered, as a value so callers decide by type: a region's verdict on the
 * batch (`refused`, with the region's error code: a 409 BATCH_CONFLICT is one), every region that
 * answered failing on it (`request_failed`), a region that stored it short of its quorum
 * (`not_acknowledged`: the client retries the same batch, which must not go to another region
 * meanwhile), or no region and no spool (`unavailable`, which the client should retry).
 */
export type DeliveryFailure =
  | { cause: "refused"; retryable: false; region: string; code: ErrorCode; message: string }
  | { cause: "not_acknowledged"; retryable: true; region: string; message: string; retryAfterSeconds: number }
  | { cause: "request_failed"; retryable: false; failure: RequestFailed }
  | { cause: "unavailable"; retryable: true; message: string };

/** The client's answer to a failed delivery. */
export function deliveryError(failure: DeliveryFailure): ApiError {
  if (failure.cause === "refused") return new ApiError(failure.code, `region ${failure.region}: ${failure.message}`);
  if (failure.cause === "request_failed") return routeError(failure.failure);
  if (failure.cause === "not_acknowledged") {
    return new ApiError("QUORUM_UNAVAILABLE", `region ${failure.region}: ${failure.message}`, {
      retryAfterSeconds: failure.retryAfterSeconds,
    });
  }
  return unavailable(failure.message);
}

function notDelivered(message: string): { ok: false; error: DeliveryFailure } {
  return err({ cause: "unavailable", retryable: true, message });
}

/**
 * Routes one normalized batch to the healthiest region, failing over within the request, and
 * spools it when no region can take it; `unavailable` (503 with Retry-After) when neither works.
 */
export async function routeOrSpool(c: Context<EdgeEnv>, batch: Batch): Promise<Result<Delivery, DeliveryFailure>> {
  const body = batchJson(batch);
  const answer = await c.var.services.router.forward(
    { method: "POST", pathAndQuery: internalPaths.batches(c.var.appId), body, requestId: c.var.requestId },
    routeContext(c),
  );
  if (answer.ok) return ok({ kind: "region", answer: answer.value });
  // Every region that answered failed on this batch: spooling it would only fail again later.
  if (answer.error.kind === "request_failed") {
    return err({ cause: "request_failed", retryable: false, failure: answer.error });
  }

  const because = describeUnavailable(answer.error);
  // A region that rejected our signature is a configuration error: spooling would only hide it.
  if (answer.error.skipped.some((skip) => skip.cause === "signature_rejected")) return notDelivered(because);
  const spooled = await spoolUpload(c.var.bindings, c.var.config.spoolSecret, {
    appId: c.var.appId,
    batchId: batch.batchId,
    keyHash: c.var.keyHash,
    requestId: c.var.requestId,
    body,
  });
  if (!spooled.ok) return notDelivered(`${because}; not spooled: ${spooled.error.message}`);
  c.set("region", "spool");
  return ok({ kind: "spooled" });
}

export type Delivered = { batchId: string; lines: number; region: string; duplicate: boolean };

/** Delivers the batches an adapter made, stopping at the first that is not delivered. */
export async function deliverBatches(
  c: Context<EdgeEnv>,
  batches: Batch[],
): Promise<Result<Delivered[], DeliveryFailure>> {
  const delivered: Delivered[] = [];
  for (const batch of batches) {
    const one = await deliverOne(c, batch);
    if (!one.ok) return one;
    delivered.push(one.value);
  }
  return ok(delivered);
}

async function deliverOne(c: Context<EdgeEnv>, batch: Batch): Promise<Result<Delivered, DeliveryFailure>> {
  const delivery = await routeOrSpool(c, batch);
  if (!delivery.ok) return delivery;
  const lines = batch.logs.length;
  if (delivery.value.kind === "spooled")
    return ok({ batchId: batch.batchId, lines, region: "spool", duplicate: false });
  const { region, response } = delivery.value.answer;
  c.set("region", region.name);
  const json: unknown = await response.json().catch(() => null);
  if (response.status >= 200 && response.status < 300) {
    const receipt = batchReceiptSchema.safeParse(json);
    // Stored or not, the region did not say: the client retries, and the batch id makes that safe.
    if (!receipt.success) return notDelivered(`region ${region.name} answered ${response.status} without a receipt`);
    return ok({ batchId: batch.batchId, lines, region: region.name, duplicate: receipt.data.duplicate });
  }
  const refusal = errorBodySchema.safeParse(json);
  if (refusal.success && refusal.data.error.code === "QUORUM_UNAVAILABLE") {
    const retryAfterSeconds = Number(response.headers.get("retry-after")) || regionRetryAfterSeconds;
    const { message } = refusal.data.error;
    return err({ cause: "not_acknowledged", retryable: true, region: region.name, message, retryAfterSeconds });
  }
  if (refusal.success) {
    const { code, message } = refusal.data.error;
    return err({ cause: "refused", retryable: false, region: region.name, code, message });
  }
  return notDelivered(`region ${region.name} answered ${response.status}`);
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
 * Checks lines one by one against the batch contract (shared `checkLine`), so one line a batch
 * would refuse (too long, a time out of range) is dropped and counted instead of failing every
 * line sent with it, which protocols that retry until they get a 200 would resend forever.
 */
export function checkLines(candidates: unknown[]): CheckedLines {
  const lines: Batch["logs"] = [];
  let rejected = 0;
  let firstError: string | null = null;
  for (const [index, candidate] of candidates.entries()) {
    const checked = checkLine(candidate, `line ${index}`);
    if (checked.ok) lines.push(checked.value);
    else {
      rejected += 1;
      firstError ??= checked.error;
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
