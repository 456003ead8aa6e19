/**
 * Control-plane operations on every region at once: the admin CLI and `npm start` use these to
 * create apps and revoke keys. Keys are minted here (only the holder of the key secret can mint)
 * and regions receive nothing but their hashes. Every write goes to all regions and is
 * idempotent, so an operation that some region missed is safe to run again.
 */
import { type KeyKind, keyHash, keyLabel, mintKey, newAppId, verifyKey } from "../../shared/keys.ts";
import { internalPaths, type Region } from "../../shared/regions.ts";
import { signedFetch } from "../../shared/signed-fetch.ts";

export type Cluster = { regions: Region[]; keySecret: string; regionSecret: string };

export type RegionOutcome = { region: string; ok: boolean; status?: number; body?: unknown; error?: string };

const adminTimeoutMs = 10_000;

async function callRegion(
  cluster: Cluster,
  region: Region,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
) {
  const result = await signedFetch({
    secret: cluster.regionSecret,
    baseUrl: region.url,
    method,
    pathAndQuery: path,
    body: body === undefined ? undefined : JSON.stringify(body),
    timeoutMs: adminTimeoutMs,
  });
  if (!result.ok) return { region: region.name, ok: false, error: result.error.message } satisfies RegionOutcome;
  const response = result.value;
  const parsed: unknown = await response.json().catch(() => null);
  return { region: region.name, ok: response.ok, status: response.status, body: parsed } satisfies RegionOutcome;
}

function everyRegion(cluster: Cluster, method: "GET" | "POST" | "PUT", path: string, body?: unknown) {
  return Promise.all(cluster.regions.map((region) => callRegion(cluster, region, method, path, body)));
}

export type CreatedApp = { id: string; name: string; ingestKey: string; readKey: string; outcomes: RegionOutcome[] };

export async function createApp(cluster: Cluster, name: string): Promise<CreatedApp> {
  const id = newAppId();
  const ingestKey = await mintKey(cluster.keySecret, id, "ingest");
  const readKey = await mintKey(cluster.keySecret, id, "read");
  const keys = await Promise.all(
    [ingestKey, readKey].map(async (key) => {
      const verified = (await verifyKey(cluster.keySecret, key)) as { kind: KeyKind };
      return { hash: await keyHash(key), kind: verified.kind, label: keyLabel(key) };
    }),
  );
  const outcomes = await everyRegion(cluster, "PUT", internalPaths.app(id), { name, keys });
  return { id, name, ingestKey, readKey, outcomes };
}

export async function revokeKey(cluster: Cluster, key: string): Promise<RegionOutcome[]> {
  const verified = await verifyKey(cluster.keySecret, key);
  if (!verified) throw new Error("not a key of this cluster (it does not verify with the key secret)");
  const body = { hash: await keyHash(key), appId: verified.appId, kind: verified.kind, label: keyLabel(key) };
  return everyRegion(cluster, "POST", internalPaths.revokeKey, body);
}

export function listKeys(cluster: Cluster, appId: string): Promise<RegionOutcome[]> {
  return everyRegion(cluster, "GET", internalPaths.appKeys(appId));
}

export function listApps(cluster: Cluster): Promise<RegionOutcome[]> {
  return everyRegion(cluster, "GET", internalPaths.apps);
}
