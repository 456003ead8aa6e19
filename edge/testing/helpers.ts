/**
 * Helpers for the edge tests, which run inside workerd: keys minted with the test KEY_SECRET,
 * sample uploads, calls to the Worker (through its real entry, or to `app.request` with another
 * REGIONS list), gzip, and the stub regions' record of what reached them.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import { type Batch, parseUpload } from "../../shared/batch.ts";
import { mintKey, newAppId } from "../../shared/keys.ts";
import type { RoutedRegion } from "../../shared/regions.ts";
import { app as edgeApp } from "../app.ts";
import { routedServices, type ServicesFactory } from "../context.ts";
import { createRegionClient } from "../region-client.ts";
import type { createQueueHandler } from "../spool/consumer.ts";
import type { SpoolMessage } from "../spool/spool.ts";
import type { Received } from "./fixtures.ts";

export const stubs = inject("stubs");

/** Where test regions are: all in one place unless a test is about geography. */
export const dublin = { lat: 53.35, lon: -6.26 };
export const virginia = { lat: 38.95, lon: -77.45 };
export const mumbai = { lat: 19.08, lon: 72.88 };

export const regionsOf = {
  eu: { name: "eu-west", url: stubs.eu, location: dublin },
  us: { name: "us-east", url: stubs.us, location: dublin },
  refused: { name: "refused", url: stubs.refused, location: dublin },
  silent: { name: "silent", url: stubs.silent, location: dublin },
  broken: { name: "broken", url: stubs.broken, location: dublin },
} satisfies Record<string, RoutedRegion>;

export type AppKeys = { appId: string; ingest: string; read: string; manage: string };

/** A fresh app (so stub records never mix between tests) with one key of each kind. */
export async function newApp(): Promise<AppKeys> {
  const appId = newAppId();
  return {
    appId,
    ingest: await mintKey(env.KEY_SECRET, appId, "ingest"),
    read: await mintKey(env.KEY_SECRET, appId, "read"),
    manage: await mintKey(env.KEY_SECRET, appId, "manage"),
  };
}

/** An upload as an SDK sends it: ISO timestamps, attrs in no particular order. */
export function sampleUpload(lines = 2) {
  return {
    batchId: crypto.randomUUID(),
    device: { id: "device-1", model: "Pixel 9", os: "android", osVersion: "16" },
    logs: Array.from({ length: lines }, (_, index) => ({
      ts: `2026-11-01T10:00:0${index % 10}.250Z`,
      level: index === 0 ? "info" : "warn",
      tag: "sync",
      text: `line ${index}`,
      attrs: { zeta: index, alpha: { b: true, a: [1, 2] } },
    })),
  };
}

/** What the edge must forward for this upload. */
export function normalized(upload: unknown): Batch {
  return parseUpload(upload);
}

/** `POST /v1/batches` through the Worker's real entry (wrangler.toml config, test bindings). */
export function postBatch(key: string | null, body: BodyInit | null, headers: Record<string, string> = {}) {
  return exports.default.fetch("https://edge.test/v1/batches", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body,
  });
}

export function getWithKey(path: string, key: string, headers: Record<string, string> = {}) {
  return exports.default.fetch(`https://edge.test${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
}

/** Calls the app with another REGIONS list (or other bindings), as the runtime would. */
export async function callWith(
  bindings: { regions?: readonly RoutedRegion[]; env?: Partial<Record<keyof Env, unknown>> },
  path: string,
  init: RequestInit,
  app = edgeApp,
): Promise<Response> {
  const ctx = createExecutionContext();
  const custom = {
    ...env,
    ...(bindings.regions ? { REGIONS: JSON.stringify(bindings.regions) } : {}),
    ...bindings.env,
  } as Env;
  const response = await app.request(`https://edge.test${path}`, init, custom, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export async function compress(data: Uint8Array | string, format: "gzip" | "deflate" = "gzip"): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Calls to any stub region whose path or body contains `match` (an app id or a batch id). */
export async function received(match: string): Promise<Received[]> {
  const response = await fetch(`${stubs.eu}/__stub/received?match=${encodeURIComponent(match)}`);
  return ((await response.json()) as { received: Received[] }).received;
}

export async function revokeAtStubs(keyHash: string): Promise<void> {
  await fetch(`${stubs.eu}/__stub/revoke`, { method: "POST", body: JSON.stringify({ keyHash }) });
}

/** A queue producer that keeps what it is sent (as the queue would: a structured clone). */
export function recordingQueue<Body = SpoolMessage>() {
  const sent: Body[] = [];
  const producer = {
    send: async (body: Body) => {
      sent.push(structuredClone(body));
    },
  } as unknown as Queue;
  return { sent, producer };
}

/** `POST /v1/batches` of `batch` with an ingest key, through `app`, with other REGIONS or bindings. */
export function uploadWith(
  app: typeof edgeApp,
  key: string,
  batch: unknown,
  bindings: { regions?: readonly RoutedRegion[]; env?: Partial<Record<keyof Env, unknown>> } = {},
  /** Where the client is (Cloudflare's `request.cf`), for tests of the route order. */
  cf?: Record<string, string>,
): Promise<Response> {
  return callWith(
    bindings,
    "/v1/batches",
    {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(batch),
      ...(cf ? { cf } : {}),
    } as RequestInit,
    app,
  );
}

/**
 * Services that call the regions for real with nothing revoked, so a test sees the forwarding
 * alone; `routing` sets the breakers' cool-down and clock and the health cache.
 */
export function unrevokedServices(routing: Parameters<typeof routedServices>[3] = {}): ServicesFactory {
  return (config, bindings) => ({
    ...routedServices(config, bindings, createRegionClient({ edgeSecret: config.edgeSecret }), routing),
    revocations: { current: async () => new Set<string>() },
  });
}

/** Hands one message to a queue handler, as the runtime would on its `attempts`-th delivery. */
export async function deliverSpooled(
  queue: ReturnType<typeof createQueueHandler>,
  regions: readonly RoutedRegion[],
  message: unknown,
  attempts: number,
  bindings: Partial<Record<keyof Env, unknown>> = {},
) {
  const id = `msg-${crypto.randomUUID()}`;
  const batch = createMessageBatch("stormlog-spool", [{ id, timestamp: new Date(), attempts, body: message }]);
  const ctx = createExecutionContext();
  await queue(batch, { ...env, REGIONS: JSON.stringify(regions), ...bindings } as Env, ctx);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks.includes(id), retried: result.retryMessages.some((retry) => retry.msgId === id) };
}

/** The messages that reached the real dead-letter queue whose JSON contains `match`. */
export async function deadLetters(match: string): Promise<unknown[]> {
  const inbox = (env as unknown as { DEAD_LETTERS: Fetcher }).DEAD_LETTERS;
  const response = await inbox.fetch(`https://inbox.test/?match=${encodeURIComponent(match)}`);
  return (await response.json()) as unknown[];
}

/** Polls `check` until it returns a value (a queue delivers on its own time), at most `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | null>, timeoutMs = 10_000): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function errorOf(response: Response): Promise<{ code: string; message: string; requestId: string }> {
  return ((await response.json()) as { error: { code: string; message: string; requestId: string } }).error;
}

export type StubMode = "region" | "silent" | "broken" | "failing" | "draining" | "slow" | "overloaded" | "quorum";

/** A stand-in region of the test's own (a fresh HTTP server), so switching its mode affects no other test. */
export async function spawnRegion(label: string, location = dublin, weight?: number): Promise<RoutedRegion> {
  const name = `${label}-${crypto.randomUUID().slice(0, 8)}`;
  const response = await fetch(`${stubs.eu}/__stub/spawn`, { method: "POST", body: JSON.stringify({ name }) });
  const { url } = (await response.json()) as { url: string };
  return { name, url, location, ...(weight === undefined ? {} : { weight }) };
}

export async function setMode(region: RoutedRegion, mode: StubMode, delayMs?: number): Promise<void> {
  await fetch(`${region.url}/__stub/mode`, { method: "POST", body: JSON.stringify({ mode, delayMs }) });
}
