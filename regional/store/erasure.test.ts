// Erasure in regions: a device's batches, keys and device row go in every region, including one
// that was away when it was requested (it learns it from a peer's control-plane state); a batch
// data folder restored from before the erasure never serves the device's lines again; nothing of
// another device or app is touched; tombstones win over replicas from a region that did not know.
import { cp, rm } from "node:fs/promises";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Batch } from "../../shared/batch.ts";
import { systemClock } from "../../shared/clock.ts";
import { Keyring } from "../../shared/envelope.ts";
import { keyHash, keyLabel, mintKey } from "../../shared/keys.ts";
import { type Erasure, newErasureId, regionErasureSchema } from "../../shared/lifecycle.ts";
import { adminPaths, internalPaths } from "../../shared/regions.ts";
import type { SealedBatch } from "../../shared/replication.ts";
import { erase, erasureStates } from "../admin/cluster.ts";
import { openDatabase } from "../db/client.ts";
import { openKeystore } from "../keystore/keystore.ts";
import type { Region } from "../region.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import {
  adminRequest,
  createTestDatabase,
  drivers,
  readKeyFor,
  signedRequest,
  startTestRegion,
  type TestDatabase,
  testAppId,
  testKeyring,
  testKeySecret,
  testSecrets,
} from "../testing/harness.ts";
import { createBatchCodec } from "./codec.ts";
import { createBatchStore } from "./index.ts";

const noOutbox = (origin: string) => ({ origin, outboxPeers: [], leaseMs: 0 });
const batchOf = (deviceId: string, text: string) => makeBatch({ deviceId, lines: [{ ts: baseTs, text }] });

async function linesOf(region: Region, appId: string, device?: string): Promise<string[]> {
  const page = await region.store.readLogs(appId, { limit: 1000, ...(device ? { device } : {}), levels: undefined });
  if (!page.ok) throw new Error(page.error.message);
  expect(page.value.integrityErrors).toEqual([]);
  return page.value.logs.map((line) => line.text);
}

async function deviceIds(region: Region, appId: string): Promise<string[]> {
  const page = await region.store.devices(appId, { limit: 100 });
  if (!page.ok) throw new Error(page.error.message);
  return page.value.devices.map((device) => device.id).sort();
}

function erasureOf(appId: string, deviceId: string | null, requestedAtMs = Date.now()): Erasure {
  return { id: newErasureId(), appId, deviceId, requestedAt: new Date(requestedAtMs).toISOString() };
}

describe.each(drivers)("erasure across regions on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();
  const otherApp = testAppId();
  const node = (name: string) => cluster.node(name).region;

  beforeAll(async () => {
    cluster = await startTestCluster(kind);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  /** Stores a batch at `origin` and applies it as a replica everywhere else. */
  async function everywhere(app: string, batch: Batch, origin = "a"): Promise<SealedBatch> {
    expect((await node(origin).store.put(app, batch, noOutbox(origin))).ok).toBe(true);
    const [sealed] = await node(origin).replicas.loadSealed([{ appId: app, batchId: batch.batchId }]);
    if (!sealed) throw new Error("not stored");
    expect(sealed.format).toBe(4);
    expect(sealed.keys?.deviceKey.deviceId).toBe(batch.device.id);
    for (const other of ["a", "b", "c"].filter((name) => name !== origin)) {
      expect(await node(other).replicas.apply(sealed)).toEqual({ ok: true, value: "stored" });
    }
    return sealed;
  }

  it("erases a device in every region, one of them away, and touches no other device or app", async () => {
    const erased = [batchOf("phone-1", "erase me 1"), batchOf("phone-1", "erase me 2")];
    const sealedErased = [];
    for (const batch of erased) sealedErased.push(await everywhere(appId, batch));
    await everywhere(appId, batchOf("phone-2", "keep: other device"), "b");
    await everywhere(otherApp, batchOf("phone-1", "keep: other app"), "c");
    for (const name of ["a", "b", "c"]) expect(await deviceIds(node(name), appId)).toEqual(["phone-1", "phone-2"]);

    // c is away: the erasure reaches a and b only.
    const erasure = erasureOf(appId, "phone-1");
    const { id, appId: _app, ...body } = erasure;
    for (const name of ["a", "b"]) {
      const response = await adminRequest(node(name), "PUT", adminPaths.erasure(appId, id), {
        json: body,
        audience: name,
      });
      expect(response.status).toBe(200);
      const state = regionErasureSchema.parse(await response.json());
      expect(state.erasure).toEqual(erasure);
      expect(state.completedAt).not.toBeNull();
    }
    expect((await adminRequest(node("c"), "GET", adminPaths.erasure(appId, id), { audience: "c" })).status).toBe(404);

    // c comes back: one anti-entropy round (what it runs at start) brings the erasure.
    const startedMs = performance.now();
    await node("c").replicator.runAntiEntropyOnce();
    const convergedMs = performance.now() - startedMs;
    console.log(`erasure reached the region that was away in one anti-entropy round: ${convergedMs.toFixed(0)} ms`);
    for (const name of ["a", "b", "c"]) {
      const region = node(name);
      expect((await region.store.erasure(appId, id))?.completedAt, name).not.toBeNull();
      expect(await linesOf(region, appId, "phone-1"), name).toEqual([]);
      expect(await linesOf(region, appId), name).toEqual(["keep: other device"]);
      expect(await deviceIds(region, appId), name).toEqual(["phone-2"]);
      expect(await linesOf(region, otherApp), name).toEqual(["keep: other app"]);
      // The keys are gone: a copy of the sealed batch anywhere no longer opens, and says why.
      for (const sealed of sealedErased) {
        expect(await region.keystore.openingKey(appId, sealed.keyId), name).toBeNull();
        expect(await region.replicas.apply(sealed), name).toEqual({ ok: true, value: "erased" });
      }
    }
    // Anti-entropy finds nothing left to repair: no region sends the erased batches back.
    for (const name of ["a", "b"]) {
      const reports = await node(name).replicator.runAntiEntropyOnce();
      expect(reports.every((report) => report.bucketsDiffering === 0)).toBe(true);
    }

    // The device uploads again: a new key, readable everywhere.
    const after = batchOf("phone-1", "after the erasure");
    const sealedAfter = await everywhere(appId, after);
    expect(sealedErased.map((sealed) => sealed.keyId)).not.toContain(sealedAfter.keyId);
    for (const name of ["a", "b", "c"]) {
      expect(await linesOf(node(name), appId, "phone-1")).toEqual(["after the erasure"]);
    }
  });

  it("takes the device's own logging setting with it, and a peer that still holds it does not bring it back", async () => {
    const app = testAppId();
    for (const name of ["a", "b"]) await node(name).store.upsertApp({ id: app, name: "settings", keys: [] });
    const setting = (value: string, updatedAt: number) =>
      ({ scope: "device", value, enabled: false, minLevel: "warn", updatedAt }) as const;
    const before = Date.now() - 1000;
    for (const name of ["a", "b"]) {
      expect(await node(name).store.changeDeviceSetting(app, setting("phone-9", before))).not.toBeNull();
      expect(await node(name).store.changeDeviceSetting(app, setting("phone-8", before))).not.toBeNull();
    }
    // b is away: a applies the erasure; b's control state still holds phone-9's setting.
    const erasure = erasureOf(app, "phone-9");
    const { id, appId: _app, ...body } = erasure;
    expect(
      (await adminRequest(node("a"), "PUT", adminPaths.erasure(app, id), { json: body, audience: "a" })).status,
    ).toBe(200);
    const values = async (name: string) => ((await node(name).store.deviceSettings(app)) ?? []).map((row) => row.value);
    expect(await values("a")).toEqual(["phone-8"]);
    await node("a").replicas.mergeControl(await node("b").replicas.exportControl());
    expect(await values("a")).toEqual(["phone-8"]);
    // b learns the erasure from a and drops the setting too; a setting made after it stands.
    await node("b").replicas.mergeControl(await node("a").replicas.exportControl());
    expect(await values("b")).toEqual(["phone-8"]);
    const later = setting("phone-9", Date.parse(erasure.requestedAt) + 1000);
    expect(await node("b").store.changeDeviceSetting(app, later)).toMatchObject({ value: "phone-9" });
    await node("a").replicas.mergeControl(await node("b").replicas.exportControl());
    expect((await values("a")).sort()).toEqual(["phone-8", "phone-9"]);
  });

  it("refuses a replica of an erased device's batch from a region that had not learned of it", async () => {
    const batch = batchOf("phone-3", "sent before the erasure");
    expect((await node("a").store.put(appId, batch, noOutbox("a"))).ok).toBe(true);
    const [sealed] = await node("a").replicas.loadSealed([{ appId, batchId: batch.batchId }]);
    const erasure = erasureOf(appId, "phone-3");
    await node("b").store.erase(erasure);
    expect(await node("b").replicas.apply(sealed as SealedBatch)).toEqual({ ok: true, value: "erased" });
    expect(await linesOf(node("b"), appId, "phone-3")).toEqual([]);
    // Its device key is not taken in either: the tombstone covers it.
    expect(await node("b").keystore.openingKey(appId, (sealed as SealedBatch).keyId)).toBeNull();
    await node("a").store.erase(erasure);
    await node("c").store.erase(erasure);
  });

  it("deletes a whole app: batches, devices, keys revoked, and anti-entropy does not bring it back", async () => {
    const doomed = testAppId();
    const readKey = await readKeyFor(node("a"), doomed);
    await everywhere(doomed, batchOf("phone-9", "app going away"));
    // As `admin apps delete` does it, with only a reachable: b and c learn it from their peers.
    const a = cluster.node("a");
    const admin = {
      regions: [{ name: "a", url: a.adminUrl }],
      keySecret: testKeySecret,
      adminSecret: testSecrets.admin,
    };
    const { erasure, outcomes } = await erase(admin, doomed, null);
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true]);
    const states = await erasureStates(admin, doomed, erasure.id);
    expect(states[0]?.body).toMatchObject({ erasure: { deviceId: null }, completedAt: expect.any(String) });
    expect(await linesOf(node("a"), doomed)).toEqual([]);
    expect((await node("a").store.listApps()).map((app) => app.id)).not.toContain(doomed);
    const read = await signedRequest(node("a").app, "GET", internalPaths.logs(doomed), {
      appKey: readKey,
      audience: "a",
    });
    expect(read.status).toBe(401);
    // b still lists the app and its key: merging b's state into a adds neither back, and a's
    // state carries the erasure to b.
    await node("a").replicator.runAntiEntropyOnce();
    expect((await node("a").store.listApps()).map((app) => app.id)).not.toContain(doomed);
    await node("b").replicator.runAntiEntropyOnce();
    expect(await linesOf(node("b"), doomed)).toEqual([]);
    expect((await node("b").store.listApps()).map((app) => app.id)).not.toContain(doomed);
    // An upload for it is refused, also after a later erasure of one of its devices.
    await node("b").store.erase(erasureOf(doomed, "phone-9", Date.now() + 1));
    const put = await node("b").store.put(doomed, batchOf("phone-9", "too late"), noOutbox("b"));
    expect(put).toMatchObject({ ok: false, error: { kind: "erased" } });
  });

  it("only a manage key erases through the edge's door; ingest and read keys are refused", async () => {
    const erasure = erasureOf(appId, "phone-2");
    const { id, appId: _app, ...body } = erasure;
    for (const kind of ["ingest", "read"] as const) {
      const key = await keyOfKind(node("a"), appId, kind);
      const response = await signedRequest(node("a").app, "PUT", internalPaths.erasure(appId, id), {
        json: body,
        appKey: key,
        audience: "a",
      });
      expect(response.status, kind).toBe(403);
    }
    expect(await deviceIds(node("a"), appId)).toContain("phone-2");
    const manage = await keyOfKind(node("a"), appId, "manage");
    const appErasure = await signedRequest(node("a").app, "PUT", internalPaths.erasure(appId, id), {
      json: { ...body, deviceId: null },
      appKey: manage,
      audience: "a",
    });
    expect(appErasure.status).toBe(403);
    const response = await signedRequest(node("a").app, "PUT", internalPaths.erasure(appId, id), {
      json: body,
      appKey: manage,
      audience: "a",
    });
    expect(response.status).toBe(200);
    expect(await deviceIds(node("a"), appId)).not.toContain("phone-2");
    const bad = await signedRequest(node("a").app, "PUT", internalPaths.erasure(appId, "er_nothex"), {
      json: body,
      appKey: manage,
      audience: "a",
    });
    expect(bad.status).toBe(400);
  });
});

async function keyOfKind(region: Region, appId: string, kind: "ingest" | "read" | "manage"): Promise<string> {
  const key = await mintKey(testKeySecret, appId, kind);
  await region.store.upsertApp({
    id: appId,
    name: "test app",
    keys: [{ hash: await keyHash(key), kind, label: keyLabel(key) }],
  });
  return key;
}

describe.each(drivers)("a batch data folder restored from before an erasure, on %s", (kind) => {
  let database: TestDatabase;
  let region: Region;
  const appId = testAppId();
  // One keyring across the restarts, as a region keeps its configuration.
  const keyring = testKeyring();
  const start = () => startTestRegion(database, { keyring });

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    region = await start();
  });
  afterAll(async () => {
    await region?.close();
    await database?.drop();
  });

  it("never serves the device's lines: unreadable without the key, then removed at boot", async () => {
    for (const text of ["secret 1", "secret 2"]) {
      expect((await region.store.put(appId, batchOf("phone-1", text))).ok).toBe(true);
    }
    expect((await region.store.put(appId, batchOf("phone-2", "kept"))).ok).toBe(true);
    await region.close();
    const backup = await copyBatchData(database);
    region = await start();
    await region.store.erase(erasureOf(appId, "phone-1"));
    expect(await linesOf(region, appId)).toEqual(["kept"]);
    await region.close();

    await backup.restore();
    // The restored rows are there, but their keys are not: what a read would meet before the
    // boot re-applies the erasure is reported as erased, never as lines or an integrity error.
    const opener = await Keyring.fromConfig(keyring);
    const restored = await openDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    const keystore = await openKeystore(database.keystore, opener);
    try {
      const raw = createBatchStore({
        db: restored.db,
        codec: createBatchCodec(opener, keystore),
        keystore,
        clock: systemClock,
      });
      const page = await raw.readLogs(appId, { limit: 100 });
      if (!page.ok) throw new Error(page.error.message);
      expect(page.value.logs.map((line) => line.text)).toEqual(["kept"]);
      expect(page.value.integrityErrors).toEqual([]);
      expect(page.value.erasedBatches).toHaveLength(2);
    } finally {
      await keystore.close();
      await restored.close();
    }

    // The region boots: every known erasure is applied again before it serves.
    region = await start();
    const page = await region.store.readLogs(appId, { limit: 100 });
    expect(page.ok && page.value).toMatchObject({ logs: [{ text: "kept" }], integrityErrors: [] });
    expect(page.ok && page.value.erasedBatches).toBeUndefined();
    const devices = await region.store.devices(appId, { limit: 10 });
    expect(devices.ok && devices.value.devices.map((device) => device.id)).toEqual(["phone-2"]);
  });
});

/** A copy of the batch data alone (not the key store), as a backup of it would be; `restore` puts it back. */
async function copyBatchData(database: TestDatabase): Promise<{ restore(): Promise<void> }> {
  if (database.kind === "pglite") {
    const copy = `${database.dataDir}-backup`;
    await cp(database.dataDir, copy, { recursive: true });
    return {
      async restore() {
        await rm(database.dataDir, { recursive: true, force: true });
        await cp(copy, database.dataDir, { recursive: true });
        await rm(copy, { recursive: true, force: true });
      },
    };
  }
  const url = new URL(database.databaseUrl as string);
  const name = url.pathname.slice(1);
  url.pathname = "/postgres";
  const admin = postgres(url.toString(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}_backup template ${name}`);
  await admin.end();
  return {
    async restore() {
      const again = postgres(url.toString(), { max: 1, onnotice: () => undefined });
      await again.unsafe(`drop database ${name} with (force)`);
      await again.unsafe(`create database ${name} template ${name}_backup`);
      await again.unsafe(`drop database ${name}_backup`);
      await again.end();
    },
  };
}
