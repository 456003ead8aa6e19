/**
 * Control-plane operations on every region at once: the admin CLI and `npm start` use these to
 * create apps, revoke keys and erase devices or apps. They go to each region's admin listener (its `url` here is the
 * admin URL), signed as `admin` for that region. Keys are minted here (only the holder of the key
 * secret can mint) and regions receive nothing but their hashes. Every write goes to all regions and is
 * idempotent, so an operation that some region missed is safe to run again.
 */
import type { z } from "zod";
import {
  type AppsAnswer,
  appAnswerSchema,
  appsAnswerSchema,
  type KeysAnswer,
  keyAnswerSchema,
  keysAnswerSchema,
  revokedAnswerSchema,
} from "../../shared/admin.ts";
import {
  type DeviceSettingChange,
  type DeviceSettings,
  deviceSettingAnswerSchema,
  deviceSettingsListSchema,
  type SettingScope,
} from "../../shared/device-settings.ts";
import { randomBytes, sha256Hex, toHex } from "../../shared/encoding.ts";
import { webhookAnswerSchema } from "../../shared/issues.ts";
import { type KeyKind, keyHash, keyLabel, mintKey, newAppId, verifyKey } from "../../shared/keys.ts";
import {
  type AppSettingsChange,
  appSettingsAnswerSchema,
  type Erasure,
  newErasureId,
  type RegionErasure,
  regionErasureSchema,
} from "../../shared/lifecycle.ts";
import { adminPaths, type Region } from "../../shared/regions.ts";
import { digestsFormat, digestsPath, digestsResponseSchema } from "../../shared/replication.ts";
import { signedJson } from "../../shared/signed-json.ts";

/** The regions by name and admin URL, the secret keys are minted with, and the admin secret. */
export type Cluster = { regions: Region[]; keySecret: string; adminSecret: string };

/**
 * What one region did: its parsed answer, or why there is none (`error`: the region's error body
 * as JSON, or what went wrong on the way).
 */
export type RegionOutcome<T = unknown> = { region: string; ok: boolean; status?: number; body?: T; error?: string };

const adminTimeoutMs = 10_000;

async function callRegion<S extends z.ZodType>(
  cluster: Cluster,
  region: Region,
  method: "GET" | "POST" | "PUT",
  path: string,
  schema: S,
  body?: unknown,
): Promise<RegionOutcome<z.output<S>>> {
  const answer = await signedJson(
    {
      signer: { role: "admin", secret: cluster.adminSecret, audience: region.name },
      baseUrl: region.url,
      method,
      pathAndQuery: path,
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: adminTimeoutMs,
    },
    schema,
  );
  if (answer.ok) return { region: region.name, ok: true, status: answer.value.status, body: answer.value.body };
  const failure = answer.error;
  if (failure.kind === "refused") {
    const error = failure.error ? JSON.stringify(failure.error) : failure.text;
    return { region: region.name, ok: false, status: failure.status, error };
  }
  if (failure.kind === "malformed")
    return { region: region.name, ok: false, status: failure.status, error: failure.message };
  return { region: region.name, ok: false, error: failure.message };
}

function everyRegion<S extends z.ZodType>(
  cluster: Cluster,
  method: "GET" | "POST" | "PUT",
  path: string,
  schema: S,
  body?: unknown,
): Promise<RegionOutcome<z.output<S>>[]> {
  return Promise.all(cluster.regions.map((region) => callRegion(cluster, region, method, path, schema, body)));
}

export type CreatedApp = {
  id: string;
  name: string;
  ingestKey: string;
  readKey: string;
  manageKey: string;
  outcomes: RegionOutcome[];
};

/** A new app with one key of each kind: ingest for the SDK, read for the console, manage for its owners. */
export async function provisionApp(cluster: Cluster, name: string): Promise<CreatedApp> {
  const id = newAppId();
  const ingestKey = await mintKey(cluster.keySecret, id, "ingest");
  const readKey = await mintKey(cluster.keySecret, id, "read");
  const manageKey = await mintKey(cluster.keySecret, id, "manage");
  const keys = await Promise.all([ingestKey, readKey, manageKey].map((key) => keyEntry(cluster, key)));
  const outcomes = await everyRegion(cluster, "PUT", adminPaths.app(id), appAnswerSchema, { name, keys });
  return { id, name, ingestKey, readKey, manageKey, outcomes };
}

/** A new key of `kind` for an existing app, registered on every region. */
export async function createKey(
  cluster: Cluster,
  appId: string,
  kind: KeyKind,
): Promise<{ key: string; outcomes: RegionOutcome[] }> {
  const key = await mintKey(cluster.keySecret, appId, kind);
  const outcomes = await everyRegion(
    cluster,
    "POST",
    adminPaths.appKeys(appId),
    keyAnswerSchema,
    await keyEntry(cluster, key),
  );
  return { key, outcomes };
}

async function keyEntry(cluster: Cluster, key: string) {
  const verified = (await verifyKey(cluster.keySecret, key)) as { kind: KeyKind };
  return { hash: await keyHash(key), kind: verified.kind, label: keyLabel(key) };
}

export async function revokeKey(cluster: Cluster, key: string): Promise<RegionOutcome[]> {
  const verified = await verifyKey(cluster.keySecret, key);
  if (!verified) throw new Error("not a key of this cluster (it does not verify with the key secret)");
  const body = { hash: await keyHash(key), appId: verified.appId, kind: verified.kind, label: keyLabel(key) };
  return everyRegion(cluster, "POST", adminPaths.revokeKey, revokedAnswerSchema, body);
}

/**
 * Sets an app's retention in every region, stamped with this machine's time: each region keeps the
 * latest change it has heard, and anti-entropy brings it to a region that missed it.
 */
export function setRetention(cluster: Cluster, appId: string, retentionDays: number) {
  const change: AppSettingsChange = { retentionDays, updatedAt: new Date().toISOString() };
  return everyRegion(cluster, "PUT", adminPaths.appSettings(appId), appSettingsAnswerSchema, change);
}

/**
 * Sets one remote logging setting (shared/device-settings.ts) in every region, stamped with this
 * machine's time, as `setRetention` does: the latest change wins in each region.
 */
export function setDeviceSettings(
  cluster: Cluster,
  appId: string,
  setting: { scope: SettingScope; value: string } & DeviceSettings,
) {
  const change: DeviceSettingChange = { ...setting, updatedAt: new Date().toISOString() };
  return everyRegion(cluster, "PUT", adminPaths.deviceSettings(appId), deviceSettingAnswerSchema, change);
}

/** Every region's remote logging settings of the app. */
export function listDeviceSettings(cluster: Cluster, appId: string) {
  return everyRegion(cluster, "GET", adminPaths.deviceSettings(appId), deviceSettingsListSchema);
}

/**
 * Sets the app's issue webhook on every region with a new signing secret, which the caller prints
 * once: every region needs it, since the region a batch arrives at sends its events.
 */
export async function setWebhook(cluster: Cluster, appId: string, url: string) {
  const secret = `whsec_${toHex(randomBytes(24))}`;
  const outcomes = await everyRegion(cluster, "PUT", adminPaths.webhook(appId), webhookAnswerSchema, { url, secret });
  return { secret, outcomes };
}

export function listKeys(cluster: Cluster, appId: string): Promise<RegionOutcome<KeysAnswer>[]> {
  return everyRegion(cluster, "GET", adminPaths.appKeys(appId), keysAnswerSchema);
}

export function listApps(cluster: Cluster): Promise<RegionOutcome<AppsAnswer>[]> {
  return everyRegion(cluster, "GET", adminPaths.apps, appsAnswerSchema);
}

/**
 * Erases one device of an app (`deviceId`), or the whole app (null: its batches, devices and keys,
 * and the app itself), on every region at once. A region that misses the call learns the erasure
 * from its peers (anti-entropy), so one region recording it is enough for it to reach all.
 */
export async function erase(
  cluster: Cluster,
  appId: string,
  deviceId: string | null,
): Promise<{ erasure: Erasure; outcomes: RegionOutcome<RegionErasure>[] }> {
  const erasure = { id: newErasureId(), appId, deviceId, requestedAt: new Date().toISOString() };
  const outcomes = await everyRegion(cluster, "PUT", adminPaths.erasure(appId, erasure.id), regionErasureSchema, {
    deviceId,
    requestedAt: erasure.requestedAt,
  });
  return { erasure, outcomes };
}

/** Each region's state of an erasure (a 404 outcome: that region does not know it yet). */
export function erasureStates(
  cluster: Cluster,
  appId: string,
  erasureId: string,
): Promise<RegionOutcome<RegionErasure>[]> {
  return everyRegion(cluster, "GET", adminPaths.erasure(appId, erasureId), regionErasureSchema);
}

export type RegionDigest = { batches: number; digest: string } | { error: string };
export type Verification = { regions: Record<string, RegionDigest>; converged: boolean };

/**
 * Each region's batch count and one digest over all it holds (its per app-hour digests, hashed
 * together); converged when every region answered and all digests are equal. The digests are
 * those kept on write (format 2, store/digests.ts), which leave out buckets whose batches may
 * expire today; when a region of the previous version answers format 1, every region is asked
 * for format 1, so that one digest compares with another.
 */
export async function verify(cluster: Cluster): Promise<Verification> {
  let outcomes = await everyRegion(cluster, "GET", digestsPath(adminPaths.digests), digestsResponseSchema);
  if (outcomes.some((outcome) => outcome.body && outcome.body.format !== digestsFormat)) {
    outcomes = await everyRegion(cluster, "GET", adminPaths.digests, digestsResponseSchema);
  }
  const regions: Record<string, RegionDigest> = {};
  for (const outcome of outcomes) {
    if (!outcome.body) {
      regions[outcome.region] = { error: outcome.error ?? `answered ${outcome.status}` };
      continue;
    }
    const { buckets } = outcome.body;
    const lines = buckets.map((bucket) => `${bucket.appId}:${bucket.hour}:${bucket.count}:${bucket.hash}`).sort();
    regions[outcome.region] = {
      batches: buckets.reduce((sum, bucket) => sum + bucket.count, 0),
      digest: await sha256Hex(lines.join("\n")),
    };
  }
  const digests = Object.values(regions).map((region) => ("digest" in region ? region.digest : null));
  const converged = digests.every((digest) => digest !== null && digest === digests[0]);
  return { regions, converged };
}
