/**
 * The spool's consumer (the Worker's `queue` handler): delivers each spooled batch to the
 * healthiest region, through the same router as live uploads. A region's verdict, a 202 receipt
 * (`duplicate: true` if an earlier delivery got through before the ack was lost) or a 4xx, ends the
 * message: it is acknowledged and its R2 blob deleted. When no region can take it, the message is
 * retried with exponential backoff (`retryDelaySeconds`); after `max_retries` (wrangler.toml) the
 * queue moves it to the dead-letter queue, where nothing is lost and an operator can replay it.
 * The batch id makes every redelivery idempotent, so a batch is stored exactly once.
 */
import { internalPaths } from "../../shared/regions.ts";
import { bindingsOf, type EdgeBindings, type EdgeConfig, loadConfig } from "../config.ts";
import { httpServices, type Services, type ServicesFactory } from "../context.ts";
import type { SpoolMessage } from "./spool.ts";

const backoffBaseSeconds = 10;
const backoffMaxSeconds = 900;

/** 10 s, 20 s, 40 s, … up to 15 minutes, by delivery attempt (the first is 1). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(backoffMaxSeconds, backoffBaseSeconds * 2 ** Math.max(0, attempts - 1));
}

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
      await deliver(message, services, bindings, ctx);
    }
  };
}

async function deliver(
  message: Message<unknown>,
  services: Services,
  bindings: EdgeBindings,
  ctx: ExecutionContext,
): Promise<void> {
  const spooled = message.body as SpoolMessage;
  const log = (fields: Record<string, unknown>) =>
    console.log(
      JSON.stringify({
        event: "spool-delivery",
        batchId: spooled.batchId,
        appId: spooled.appId,
        requestId: spooled.requestId,
        attempts: message.attempts,
        ...fields,
      }),
    );
  const body = spooled.body ?? (await readBlob(bindings, spooled.blobKey));
  if (body === null) {
    // The blob is gone: an earlier delivery of this message succeeded and deleted it.
    log({ outcome: "blob-missing" });
    message.ack();
    return;
  }
  const answer = await services.router.forward(
    { method: "POST", pathAndQuery: internalPaths.batches(spooled.appId), body, requestId: spooled.requestId },
    { client: null, waitUntil: (promise) => ctx.waitUntil(promise) },
  );
  if (!answer.ok) {
    const delaySeconds = retryDelaySeconds(message.attempts);
    log({ outcome: "retry", delaySeconds, skipped: answer.error.skipped });
    message.retry({ delaySeconds });
    return;
  }
  const { region, response } = answer.value;
  // The receipt says whether an earlier delivery already stored it; a 4xx body says why not.
  const verdict = (await response.json().catch(() => null)) as { duplicate?: unknown } | null;
  if (spooled.blobKey && bindings.spoolBlobs) await bindings.spoolBlobs.delete(spooled.blobKey);
  log({
    outcome: response.ok ? "delivered" : "rejected",
    region: region.name,
    status: response.status,
    ...(response.ok ? { duplicate: verdict?.duplicate === true } : { answer: verdict }),
  });
  message.ack();
}

async function readBlob(bindings: EdgeBindings, key: string | undefined): Promise<string | null> {
  if (!key || !bindings.spoolBlobs) return null;
  const object = await bindings.spoolBlobs.get(key);
  return object ? object.text() : null;
}
