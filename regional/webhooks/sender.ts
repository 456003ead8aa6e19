/**
 * Sends the webhook events this region queued (store/webhooks.ts; only a batch's origin queues
 * them, so each goes out once across the cluster). Every `intervalMs` it leases due events, builds
 * each body, signs it (`Stormlog-Signature`, shared/issues.ts) and POSTs it to the app's URL. A
 * 2xx answer completes the event; anything else (an error status, a timeout, a refused
 * connection) retries it after an exponential backoff, at most `attemptsMax` times, after which
 * it is dropped and logged: retrying without a bound would keep a dead endpoint's queue forever.
 *
 * Like replication, it runs only after `start()` (server.ts); tests call `runOnce` themselves.
 */
import type { Logger } from "pino";
import type { Clock } from "../../shared/clock.ts";
import { webhookSignature, webhookSignatureHeader } from "../../shared/issues.ts";
import { backgroundLoop } from "../background-loop.ts";
import type { Backoff, WebhookEntry, WebhookStore } from "../store/types.ts";

export type WebhookSenderOptions = {
  store: WebhookStore;
  logger: Logger;
  clock: Clock;
  intervalMs?: number;
  backoff?: Backoff;
  attemptsMax?: number;
  timeoutMs?: number;
};

export type WebhookSender = {
  /** One pass: sends what is due; answers how many were delivered. */
  runOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
};

export const webhookDefaults = {
  intervalMs: 2000,
  backoff: { baseMs: 2000, maxMs: 3_600_000 },
  attemptsMax: 20,
  timeoutMs: 10_000,
  claimMax: 20,
};

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const { store, logger, clock } = options;
  const intervalMs = options.intervalMs ?? webhookDefaults.intervalMs;
  const backoff = options.backoff ?? webhookDefaults.backoff;
  const attemptsMax = options.attemptsMax ?? webhookDefaults.attemptsMax;
  const timeoutMs = options.timeoutMs ?? webhookDefaults.timeoutMs;

  async function send(entry: WebhookEntry): Promise<boolean> {
    const config = await store.webhook(entry.appId);
    const body = config ? await store.body(entry) : null;
    if (!config || !body) {
      // No endpoint any more, or its line was erased or expired: nothing left to send.
      await store.complete(entry.id);
      return false;
    }
    const text = JSON.stringify(body);
    const signature = await webhookSignature(config.secret, Math.floor(clock.now() / 1000), text);
    const delivered = await fetch(config.url, {
      method: "POST",
      headers: { "content-type": "application/json", [webhookSignatureHeader]: signature },
      body: text,
      signal: AbortSignal.timeout(timeoutMs),
    }).then(
      async (response) => {
        await response.body?.cancel();
        return response.ok;
      },
      () => false,
    );
    if (delivered) {
      await store.complete(entry.id);
      return true;
    }
    if (entry.attempts + 1 >= attemptsMax) {
      logger.warn({ appId: entry.appId, event: entry.event, attempts: entry.attempts + 1 }, "webhook dropped");
      await store.complete(entry.id);
    } else {
      await store.retry(entry.id, backoff);
    }
    return false;
  }

  async function runOnce(): Promise<number> {
    const due = await store.claim(webhookDefaults.claimMax, timeoutMs * 3);
    const sent = await Promise.all(due.map(send));
    return sent.filter(Boolean).length;
  }

  const loop = backgroundLoop({
    intervalMs,
    step: runOnce,
    onError: (error) => logger.warn({ err: error }, "webhook run failed; retrying next interval"),
  });
  return { runOnce, start: loop.start, stop: loop.stop };
}
