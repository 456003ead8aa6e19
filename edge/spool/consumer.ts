/**
 * The spool's consumer (the Worker's `queue` handler): delivers each spooled batch to the
 * healthiest region, through the same router as live uploads, once it has checked that the batch
 * may still be delivered. For each message, in turn:
 *
 *   1. it must be a spool message (spool.ts), else it is dead-lettered (`unreadable`);
 *   2. the key that uploaded it must not have been revoked since (`key_revoked`); with no
 *      revocation list recent enough to trust (revocations.ts), it waits: retried with backoff;
 *   3. its payload must open under SPOOL_SECRET (`does_not_open`);
 *   4. a region's 2xx receipt ends it (acknowledged, its R2 blob deleted; `duplicate: true` if an
 *      earlier delivery got through before the ack was lost); a region that stored it short of its
 *      quorum (503 QUORUM_UNAVAILABLE) has it retried with backoff; a region's 4xx is a verdict on the
 *      batch (`rejected`); every region failing on it with INTERNAL (router.ts: the batch's fault,
 *      no breaker opens) is one too once it has happened on `requestFailuresMax` deliveries
 *      (`internal_error`); no region available: retried with exponential backoff
 *      (`retryDelaySeconds`), and after `max_retries` (wrangler.toml) the queue dead-letters it.
 *
 * A dead letter goes to `SPOOL_DEAD` as `{v, cause, reason, attempts, deadAt, spooled}`, where
 * `spooled` is the message as it was (still sealed; its R2 blob is kept), so nothing is lost and
 * an operator can replay it; then the message is acknowledged, so one bad message never blocks the
 * queue or keeps reaching the regions. Without a SPOOL_DEAD binding the message is retried at the
 * longest backoff instead, until the queue dead-letters it itself (`dead_letter_queue`).
 * The batch id makes every redelivery idempotent, so a batch is stored exactly once.
 */
import { errorBodySchema } from "../../shared/errors.ts";
import { batchReceiptSchema } from "../../shared/read.ts";
import { internalPaths } from "../../shared/regions.ts";
import { bindingsOf, type EdgeBindings, type EdgeConfig, loadConfig } from "../config.ts";
import { httpServices, type Services, type ServicesFactory } from "../context.ts";
import { describeSkipped } from "../region-client.ts";
import { openSpooled } from "./seal.ts";
import { spooledPayload, spoolMessageSchema } from "./spool.ts";

const backoffBaseSeconds = 10;
const backoffMaxSeconds = 900;

/** Deliveries on which every region failed on the batch before it is dead-lettered. */
export const requestFailuresMax = 3;

/** 10 s, 20 s, 40 s, … up to 15 minutes, by delivery attempt (the first is 1). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(backoffMaxSeconds, backoffBaseSeconds * 2 ** Math.max(0, attempts - 1));
}

/** Why a spooled batch was not delivered and never will be as it is. */
export type DeadLetterCause = "unreadable" | "key_revoked" | "does_not_open" | "rejected" | "internal_error";

export type DeadLetter = {
  v: 1;
  cause: DeadLetterCause;
  reason: string;
  attempts: number;
  deadAt: number;
  /** The spool message as it was received. */
  spooled: unknown;
};

type Delivery = { message: Message<unknown>; services: Services; bindings: EdgeBindings; config: EdgeConfig };

export function createQueueHandler(makeServices: ServicesFactory = httpServices) {
  const built = new WeakMap<EdgeConfig, Services>();

  return async function queue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
    const config = loadConfig(env);
    const bindings = bindingsOf(env);
    let services = built.get(config);
    if (!services) {
      services = makeServices(config, bindings);
      built.set(config, services);
    }
    for (const message of batch.messages) {
      const delivery = { message, services, bindings, config };
      try {
        await handleMessage(delivery, ctx);
      } catch (error) {
        // A failure of our own (R2 or the queue erring): this message waits, the others go on.
        log(message, { outcome: "retry", error: String(error) });
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      }
    }
  };
}

async function handleMessage(delivery: Delivery, ctx: ExecutionContext): Promise<void> {
  const { message, services, bindings, config } = delivery;
  const parsed = spoolMessageSchema.safeParse(message.body);
  if (!parsed.success) return deadLetter(delivery, "unreadable", "not a spool message");
  const spooled = parsed.data;
  const context = { requestId: spooled.requestId, waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise) };

  const revoked = await services.revocations.current(context);
  if (revoked === null) return retry(message, { waiting: "no revocation list" });
  if (revoked.has(spooled.keyHash)) return deadLetter(delivery, "key_revoked", "the app key was revoked since");

  const payload = await spooledPayload(bindings, spooled);
  if (payload.kind === "blob_missing") {
    // An earlier delivery of this message succeeded and deleted the blob.
    log(message, { outcome: "blob-missing" });
    return message.ack();
  }
  if (payload.kind === "unreadable") return deadLetter(delivery, "unreadable", payload.message);
  const sealContext = { appId: spooled.appId, batchId: spooled.batchId, keyHash: spooled.keyHash };
  const body = await openSpooled(config.spoolSecret, sealContext, payload.sealed);
  if (body === null) return deadLetter(delivery, "does_not_open", "the sealed batch does not open under SPOOL_SECRET");

  const answer = await services.router.forward(
    { method: "POST", pathAndQuery: internalPaths.batches(spooled.appId), body, requestId: spooled.requestId },
    { client: null, waitUntil: context.waitUntil },
  );
  if (!answer.ok) {
    const reason = describeSkipped(answer.error.skipped);
    if (answer.error.kind === "request_failed" && message.attempts >= requestFailuresMax) {
      return deadLetter(delivery, "internal_error", `every region that answered failed on it (${reason})`);
    }
    return retry(message, { skipped: reason });
  }
  const { region, response } = answer.value;
  // The receipt says whether an earlier delivery already stored it; a 4xx body says why not.
  const verdict: unknown = await response.json().catch(() => null);
  if (response.status >= 500) {
    // Stored there short of its quorum (QUORUM_UNAVAILABLE, the only 5xx the router passes back):
    // retried later, it is a duplicate there once the quorum holds it.
    return retry(message, { region: region.name, status: response.status });
  }
  if (!response.ok) {
    const refusal = errorBodySchema.safeParse(verdict);
    const code = refusal.success ? ` ${refusal.data.error.code}` : "";
    return deadLetter(delivery, "rejected", `region ${region.name} answered ${response.status}${code}`);
  }
  const receipt = batchReceiptSchema.safeParse(verdict);
  if (spooled.blobKey && bindings.spoolBlobs) await bindings.spoolBlobs.delete(spooled.blobKey);
  log(message, {
    outcome: "delivered",
    region: region.name,
    status: response.status,
    duplicate: receipt.success && receipt.data.duplicate,
  });
  message.ack();
}

function retry(message: Message<unknown>, fields: Record<string, unknown>): void {
  const delaySeconds = retryDelaySeconds(message.attempts);
  log(message, { outcome: "retry", delaySeconds, ...fields });
  message.retry({ delaySeconds });
}

async function deadLetter(delivery: Delivery, cause: DeadLetterCause, reason: string): Promise<void> {
  const { message, bindings } = delivery;
  if (!bindings.spoolDead) {
    log(message, { outcome: "retry", delaySeconds: backoffMaxSeconds, cause, reason, deadLetter: "not bound" });
    return message.retry({ delaySeconds: backoffMaxSeconds });
  }
  const dead: DeadLetter = {
    v: 1,
    cause,
    reason,
    attempts: message.attempts,
    deadAt: Date.now(),
    spooled: message.body,
  };
  await bindings.spoolDead.send(dead, { contentType: "json" });
  log(message, { outcome: "dead-letter", cause, reason });
  message.ack();
}

/** One structured line per delivery attempt; ids only, never the batch. */
function log(message: Message<unknown>, fields: Record<string, unknown>): void {
  const body = (typeof message.body === "object" && message.body !== null ? message.body : {}) as Record<
    string,
    unknown
  >;
  console.log(
    JSON.stringify({
      event: "spool-delivery",
      batchId: body.batchId,
      appId: body.appId,
      requestId: body.requestId,
      attempts: message.attempts,
      ...fields,
    }),
  );
}
