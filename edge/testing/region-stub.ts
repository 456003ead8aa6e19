/**
 * Stand-in regions for the edge tests: real HTTP servers (node:http) started by global-setup.ts,
 * in Node, outside workerd. An answering stub behaves like a region towards the edge: it checks
 * the signature with shared/signing.ts (signed as the edge, for this stub's name; 401 when it does
 * not verify), validates batches with shared `parseBatch`, keeps them in memory (202 receipt,
 * duplicate, 409 on a reused batch id) and answers reads (only with a read key of the app that is
 * not revoked, as a region checks it: else 401 APP_KEY_REJECTED), app settings (changed with a
 * manage key, the latest `updatedAt` kept), remote logging settings (the same way) and usage, the revocation list and the unsigned
 * `GET /v1/health` probe. Every signed call
 * to any stub is recorded; tests read the record with `GET /__stub/received?match=<text>` and
 * revoke keys with `POST /__stub/revoke`. For routing tests, `POST /__stub/spawn {name}` starts a
 * fresh stub of their own, and `POST <stub>/__stub/mode {mode, delayMs?}` switches one between
 * answering, broken (a bare 500, as a proxy in front of a dead region gives), failing (its own
 * 500 INTERNAL error on every call, as a region with a bug; health still up), silent (never
 * answers), draining (health says so, calls get 503), slow (answers after `delayMs`), overloaded
 * (uploads get 503 OVERLOADED with Retry-After before anything is stored, as a region at capacity
 * sheds them) and quorum (uploads are stored, then answered 503 QUORUM_UNAVAILABLE, as a region
 * whose peers did not confirm in time).
 * Any answering stub fails with its own 500 INTERNAL on a call whose path or body holds `poisonMarker`:
 * a request that sets off a bug in every region alike.
 *
 * test/region-contract.test.ts runs one suite of the region's HTTP contract on an answering stub
 * and on a real region: what the edge tests rely on here must be what a region does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { batchJson, deviceInfo, parseBatch, parseWith } from "../../shared/batch.ts";
import type { VolumeAnswer } from "../../shared/console-api.ts";
import { deviceSettingChangeSchema, type StoredDeviceSetting, settingWins } from "../../shared/device-settings.ts";
import { concatBytes, sha256Hex } from "../../shared/encoding.ts";
import { ApiError, errorBody } from "../../shared/errors.ts";
import { webhookConfigSchema } from "../../shared/issues.ts";
import { type KeyKind, keyAllows, keyHash, verifyKey } from "../../shared/keys.ts";
import {
  type AppSettingsAnswer,
  type AppSettingsChange,
  appSettingsChangeSchema,
  type UsageAnswer,
} from "../../shared/lifecycle.ts";
import type {
  BatchReceipt,
  DevicePage,
  DeviceRecord,
  DeviceSummary,
  LevelCounts,
  LogRecord,
} from "../../shared/read.ts";
import { NonceCache, signatureHeaders, verifyBody, verifyRequest } from "../../shared/signing.ts";
import { poisonMarker, type Received } from "./fixtures.ts";

/** State all stubs share: the record of calls and the cluster's revoked key hashes. */
export type StubWorld = {
  received: Received[];
  revokedKeyHashes: Set<string>;
  /** What the edge signs with, and what its app keys are minted with. */
  edgeSecret: string;
  keySecret: string;
  /** Stubs started with `/__stub/spawn`, closed with the others at teardown. */
  spawned: RunningStub[];
};

export type RunningStub = { url: string; close(): Promise<void> };

export type Behaviour = "region" | "silent" | "broken" | "failing" | "draining" | "slow" | "overloaded" | "quorum";

const appPath =
  /^\/internal\/v1\/apps\/([^/]+)\/(batches|logs|devices|volume|tail|digest|settings|device-settings|usage|webhook)$/;

export async function startStub(world: StubWorld, name: string, initial: Behaviour): Promise<RunningStub> {
  const nonces = new NonceCache();
  let behaviour = initial;
  let delayMs = 0;
  const batches = new Map<string, { appId: string; canonical: string; batch: ReturnType<typeof parseBatch> }>();
  const settings = new Map<string, AppSettingsChange>();
  const deviceSettings = new Map<string, StoredDeviceSetting[]>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    const body = await readBody(req);
    if (url.pathname === "/__stub/received") {
      const match = url.searchParams.get("match") ?? "";
      const hits = world.received.filter((call) => call.pathAndQuery.includes(match) || call.body.includes(match));
      return send(res, 200, { received: hits });
    }
    if (url.pathname === "/__stub/revoke") {
      world.revokedKeyHashes.add((JSON.parse(new TextDecoder().decode(body)) as { keyHash: string }).keyHash);
      return send(res, 204);
    }
    if (url.pathname === "/__stub/spawn") {
      const spawned = await startStub(
        world,
        (JSON.parse(new TextDecoder().decode(body)) as { name: string }).name,
        "region",
      );
      world.spawned.push(spawned);
      return send(res, 200, { url: spawned.url });
    }
    if (url.pathname === "/__stub/mode") {
      const control = JSON.parse(new TextDecoder().decode(body)) as { mode: Behaviour; delayMs?: number };
      behaviour = control.mode;
      delayMs = control.delayMs ?? 0;
      return send(res, 204);
    }
    if (url.pathname === "/v1/health") {
      if (behaviour === "slow") await sleep(delayMs);
      if (behaviour === "silent") return;
      if (behaviour === "broken") return sendText(res, 500, "stub region is broken");
      const status = behaviour === "draining" ? "draining" : "up";
      const health = {
        region: name,
        status,
        database: { kind: "pglite", ok: true },
        inFlight: 0,
        ackQuorum: 1,
        peers: [],
      };
      return send(res, status === "up" ? 200 : 503, health);
    }

    const pathAndQuery = req.url ?? "/";
    const requestId = headerValue(req, "x-request-id") ?? crypto.randomUUID();
    const headers = { get: (header: string) => headerValue(req, header) };
    const target = { role: "edge" as const, audience: name, method: req.method ?? "GET", pathAndQuery };
    const signed = await verifyRequest(world.edgeSecret, target, headers, nonces);
    const verified = signed.ok ? await verifyBody(headers, body) : signed;
    world.received.push({
      stub: name,
      method: req.method ?? "GET",
      pathAndQuery,
      requestId: headerValue(req, "x-request-id"),
      appKey: headerValue(req, signatureHeaders.appKey),
      body: new TextDecoder().decode(body),
      signature: verified.ok ? "ok" : verified.error,
    });
    if (behaviour === "silent") return; // never answers; the edge's timeout must fire
    if (behaviour === "slow") await sleep(delayMs); // recorded on arrival, answered late
    if (behaviour === "broken") return sendText(res, 500, "stub region is broken");
    if (behaviour === "draining") return send(res, 503, errorBody("REGION_UNAVAILABLE", "draining", requestId));
    if (!verified.ok) return send(res, 401, errorBody("UNAUTHORIZED", `signature: ${verified.error}`, requestId));
    const poisoned = pathAndQuery.includes(poisonMarker) || new TextDecoder().decode(body).includes(poisonMarker);
    if (behaviour === "failing" || poisoned) {
      return send(res, 500, errorBody("INTERNAL", "internal error", requestId));
    }
    try {
      return send(res, ...(await answer(req.method ?? "GET", url, body, headerValue(req, signatureHeaders.appKey))));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.retryAfterSeconds !== undefined) res.setHeader("retry-after", String(error.retryAfterSeconds));
      return send(res, error.status, errorBody(error.code, error.message, requestId));
    }
  });

  async function answer(method: string, url: URL, body: Uint8Array, appKey: string | null): Promise<[number, unknown]> {
    if (method === "GET" && url.pathname === "/internal/v1/keys/revoked") {
      return [200, { keyHashes: [...world.revokedKeyHashes] }];
    }
    const [, appId = "", resource] = appPath.exec(url.pathname) ?? [];
    if (
      method === "GET" &&
      resource &&
      ["logs", "devices", "volume", "tail", "digest", "settings", "usage"].includes(resource)
    ) {
      await checkAppKey(appId, appKey, "read");
    }
    if (resource === "settings") {
      if (method === "PUT") {
        await checkAppKey(appId, appKey, "manage");
        const change = parseWith(appSettingsChangeSchema, parseJson(body));
        const held = settings.get(appId);
        if (!held || change.updatedAt > held.updatedAt) settings.set(appId, change);
      }
      const held = settings.get(appId) ?? { retentionDays: 30, updatedAt: null };
      return [200, { app: { id: appId, name: "stub app", ...held } } satisfies AppSettingsAnswer];
    }
    if (resource === "device-settings") {
      const held = deviceSettings.get(appId) ?? [];
      if (method === "GET") {
        await checkAppKey(appId, appKey, verifiedKind(appKey));
        return [200, { settings: held }];
      }
      await checkAppKey(appId, appKey, "manage");
      const change = parseWith(deviceSettingChangeSchema, parseJson(body));
      const setting = { ...change, updatedAt: Date.parse(change.updatedAt) };
      const same = held.find((other) => other.scope === setting.scope && other.value === setting.value);
      if (same && !settingWins(setting, same)) return [200, { setting: same }];
      deviceSettings.set(appId, [...held.filter((other) => other !== same), setting]);
      return [200, { setting }];
    }
    if (method === "PUT" && resource === "webhook") {
      await checkAppKey(appId, appKey, "manage");
      return [200, { appId, url: parseWith(webhookConfigSchema, parseJson(body)).url }];
    }
    if (method === "POST" && resource === "batches") {
      if (behaviour === "overloaded") {
        throw new ApiError("OVERLOADED", "region overloaded; nothing stored, retry", { retryAfterSeconds: 1 });
      }
      const batch = parseBatch(parseJson(body));
      const canonical = batchJson(batch);
      const known = batches.get(`${appId}/${batch.batchId}`);
      if (known && known.canonical !== canonical) {
        throw new ApiError("BATCH_CONFLICT", `batch ${batch.batchId} was already stored with other content`);
      }
      batches.set(`${appId}/${batch.batchId}`, { appId, canonical, batch });
      if (behaviour === "quorum") {
        throw new ApiError("QUORUM_UNAVAILABLE", `batch ${batch.batchId} is held by ${name} only; retry later`, {
          retryAfterSeconds: 2,
        });
      }
      const receipt: BatchReceipt = {
        batchId: batch.batchId,
        region: name,
        regions: [name],
        accepted: batch.logs.length,
        duplicate: !!known,
      };
      return [202, receipt];
    }
    const stored = [...batches.values()].filter((entry) => entry.appId === appId);
    if (method === "GET" && resource === "logs") {
      const logs: LogRecord[] = stored.flatMap(({ batch }) =>
        batch.logs.map(({ ts, ...line }, index) => ({
          ...line,
          index,
          ts: new Date(ts).toISOString(),
          deviceId: batch.device.id,
          batchId: batch.batchId,
        })),
      );
      return [200, { logs, nextCursor: null, prevCursor: null, integrityErrors: [] }];
    }
    if (method === "GET" && resource === "devices") {
      const devices = new Map<string, DeviceSummary>();
      for (const { batch } of stored) {
        const device = devices.get(batch.device.id) ?? { ...deviceRecord(batch.device), counts: zeroCounts() };
        for (const line of batch.logs) device.counts[line.level] += 1;
        devices.set(batch.device.id, device);
      }
      return [200, { devices: [...devices.values()], nextCursor: null } satisfies DevicePage];
    }
    // The console's other reads: shapes only, enough for the edge to pass them through.
    if (method === "GET" && resource === "tail") {
      return [200, { logs: [], nextCursor: url.searchParams.get("after") ?? "stub-tail", integrityErrors: [] }];
    }
    if (method === "GET" && resource === "digest") {
      const ids = stored.map(({ batch }) => batch.batchId).sort();
      return [200, { region: name, batches: ids.length, digest: await sha256Hex(ids.join(",")) }];
    }
    if (method === "GET" && resource === "usage") {
      const lines = stored.reduce((sum, { batch }) => sum + batch.logs.length, 0);
      const today = new Date().toISOString().slice(0, 10);
      const days =
        stored.length === 0 ? [] : [{ day: today, batches: stored.length, lines, storedBytes: 0, expiresOn: today }];
      return [
        200,
        { retentionDays: 30, days, totals: { batches: stored.length, lines, storedBytes: 0 } } satisfies UsageAnswer,
      ];
    }
    if (method === "GET" && resource === "volume") {
      const from = Number(url.searchParams.get("from"));
      const to = Number(url.searchParams.get("to"));
      const answer: VolumeAnswer = {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        bucketMs: to - from,
        buckets: [{ start: new Date(from).toISOString(), counts: zeroCounts() }],
        total: zeroCounts(),
      };
      return [200, answer];
    }
    throw new ApiError("NOT_FOUND", `stub region has no route for ${method} ${url.pathname}`);
  }

  /** Any live key of the app reads its device settings, as a region's `requireAppKey(…, "any")`. */
  function verifiedKind(appKey: string | null): KeyKind {
    const kind = /^sl_(ingest|read|manage)_/.exec(appKey ?? "")?.[1];
    return (kind as KeyKind | undefined) ?? "read";
  }

  /** What a region checks in its own key table; the stub, holding the key secret, verifies instead. */
  async function checkAppKey(appId: string, appKey: string | null, kind: KeyKind): Promise<void> {
    const verified = appKey ? await verifyKey(world.keySecret, appKey) : null;
    if (!appKey || !verified || verified.appId !== appId) {
      throw new ApiError("APP_KEY_REJECTED", `app key is not a key of app ${appId} in this region`);
    }
    if (world.revokedKeyHashes.has(await keyHash(appKey)))
      throw new ApiError("APP_KEY_REJECTED", "app key has been revoked");
    if (!keyAllows(verified.kind, kind)) {
      throw new ApiError("FORBIDDEN", `this route needs a ${kind} key, not a ${verified.kind} key`);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${portOf(server)}`, close: () => closeServer(server) };
}

/** A URL on which nothing listens: the port was just bound and released. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = portOf(server);
  await closeServer(server);
  return `http://127.0.0.1:${port}`;
}

/** As a region parses a body: malformed JSON is the caller's fault (400), not a crash. */
function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new ApiError("INVALID_BODY", "body: malformed JSON");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function zeroCounts(): LevelCounts {
  return { trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 };
}

function deviceRecord(device: ReturnType<typeof parseBatch>["device"]): DeviceRecord {
  const seen = new Date().toISOString();
  return {
    id: device.id,
    ...deviceInfo(device),
    firstSeen: seen,
    lastSeen: seen,
  };
}

async function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of req) chunks.push(chunk as Uint8Array);
  return concatBytes(chunks);
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  return typeof value === "string" ? value : null;
}

function send(res: ServerResponse, status: number, json?: unknown): void {
  if (json === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain" }).end(text);
}

function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
