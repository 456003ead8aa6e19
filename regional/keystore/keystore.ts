/**
 * The key store: app keys, device keys and erasure records (the tombstones), in a database of its
 * own (schema.ts). Keys are created lazily by whichever region first seals a batch of a device,
 * with random ids, so two regions creating one at once just leave two keys; replicas carry the
 * wrapped keys they need (`CarriedKeys`) and the receiver stores them unless an erasure covers
 * them. Destroying keys is the erasure's point of no return: what was sealed under them opens
 * nowhere afterwards.
 *
 * Which erasure covers a device is asked by every upload and replica: it is answered from the
 * app's erasures, read at once (one query per app, not one per device: an app's devices far
 * outnumber its erasures) and kept `erasuresCachedMs`, since another process of the same region
 * (PostgreSQL mode) may record one this one does not hear of; dropped whenever an erasure is
 * recorded here.
 *
 * Unwrapped keys are cached in memory far longer (`keysCachedMs`, bounded in number): a device
 * uploads every few seconds to minutes, and a key looked up again for each upload costs every
 * region several queries per batch. That is safe because what decides whether a key may still be
 * used is the erasure check, not the cache: a device's cached sealing key is used only while no
 * erasure known here is newer than the key, and uploads and replicas of an erased device are
 * refused before any key is used. The whole cache is dropped whenever an erasure destroys keys
 * here, so a destroyed key is never used again by this process.
 */
import { fileURLToPath } from "node:url";
import { and, desc, eq, gt, isNull, ne, or, sql } from "drizzle-orm";
import { randomBytes, toHex } from "../../shared/encoding.ts";
import { aesOpen, aesSeal, boundFields, importAesKey, type Keyring } from "../../shared/envelope.ts";
import type { CryptoKey } from "../../shared/hmac.ts";
import type { CarriedKeys } from "../../shared/replication.ts";
import { type DatabaseHandle, type DatabaseOptions, openMigrated } from "../db/client.ts";
import * as schema from "./schema.ts";
import { appKeys, deviceKeys, erasures } from "./schema.ts";
import type { DeviceKey, ErasureRecord, Keystore } from "./types.ts";

const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));
const keyBytes = 32;
/** How long an unwrapped key is used from memory before the key store is asked again. */
const keysCachedMs = 10 * 60_000;
/** Keys of at most this many devices (and app keys) held per cache; the least recently stored go first. */
const keysCachedMax = 50_000;
/** How long an app's erasures are answered from memory: how soon another process's erasure is seen. */
const erasuresCachedMs = 10_000;

/** Erasures of one app held in memory, more than which `covering` asks the database device by device. */
const appErasuresMax = 1000;
/** An app's erasures as `covering` needs them, or "many" (more than `appErasuresMax`). */
type AppErasures = { app: ErasureRecord | null; devices: Map<string, ErasureRecord> } | "many";

/**
 * A map whose entries expire, holding at most `maxEntries` (the oldest stored are let go first):
 * the caches. A value read from the database before a `clear` (an erasure applied meanwhile) is
 * not stored after it: pass `set` the `generation` seen before the read.
 */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();
  generation = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  constructor(ttlMs: number, maxEntries = keysCachedMax) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }
  get(id: string): V | undefined {
    const entry = this.entries.get(id);
    if (entry && entry.expiresAtMs > Date.now()) return entry.value;
    this.entries.delete(id);
    return undefined;
  }
  set(id: string, value: V, readAt = this.generation): void {
    if (readAt !== this.generation) return;
    this.entries.delete(id);
    this.entries.set(id, { value, expiresAtMs: Date.now() + this.ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}

export async function openKeystore(options: DatabaseOptions, keyring: Keyring): Promise<Keystore> {
  const handle = await openMigrated(options, schema, migrationsFolder);
  try {
    await rewrapAppKeys(handle, keyring);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return createKeystore(handle, keyring);
}

/**
 * Keyring rotation: app keys wrapped under a key that is no longer active are wrapped again under
 * the active one at boot (there is one app key per app, or a few), so once the new key is active
 * everywhere the old one wraps nothing and can leave the keyring. One not in the keyring at all is
 * left as it is: its batches are integrity errors naming it, as before.
 */
async function rewrapAppKeys(handle: DatabaseHandle<typeof schema>, keyring: Keyring): Promise<void> {
  const { db } = handle;
  const stale = await db.select().from(appKeys).where(ne(appKeys.kekId, keyring.activeKeyId));
  for (const row of stale) {
    const aad = appKeyAad(row.appId, row.keyId);
    const raw = await keyring.unwrap(row.kekId, new Uint8Array(row.wrappedKey), aad);
    if (!raw) continue;
    const { kekId, wrapped } = await keyring.wrap(raw, aad);
    raw.fill(0);
    await db
      .update(appKeys)
      .set({ kekId, wrappedKey: wrapped })
      .where(and(eq(appKeys.appId, row.appId), eq(appKeys.keyId, row.keyId)));
  }
}

const appKeyAad = (appId: string, keyId: string) => boundFields("stormlog/app-key/v1", [appId, keyId]);
const deviceKeyAad = (appId: string, deviceId: string, keyId: string) =>
  boundFields("stormlog/device-key/v1", [appId, deviceId, keyId]);

function createKeystore(handle: DatabaseHandle<typeof schema>, keyring: Keyring): Keystore {
  const { db } = handle;
  const cache = new ExpiringMap<CryptoKey>(keysCachedMs);
  // With when the key was created: it seals only while no erasure known here is newer.
  const sealing = new ExpiringMap<DeviceKey & { createdAtMs: number }>(keysCachedMs);
  // The keys every replica of a device carries (the upload path sends each new batch with them).
  const carried = new ExpiringMap<CarriedKeys>(keysCachedMs);
  /**
   * Each app's erasures, as `covering` answers from them: changed only by an erasure. Dropped
   * whenever this process records or applies one; another process's is seen within
   * `erasuresCachedMs`. An app with more than `appErasuresMax` is asked device by device instead.
   */
  const appErasures = new ExpiringMap<AppErasures>(erasuresCachedMs);
  const coverings = new ExpiringMap<{ erasure: ErasureRecord | null }>(erasuresCachedMs);

  /** Unwrapped keys: the key, null when not held, or why it does not unwrap. */
  type Unwrapped = CryptoKey | null | { unopenable: string };

  async function unwrapAppKey(appId: string, keyId: string): Promise<Unwrapped> {
    const cached = cache.get(`${appId}/${keyId}`);
    if (cached) return cached;
    const readAt = cache.generation;
    const [row] = await db
      .select()
      .from(appKeys)
      .where(and(eq(appKeys.appId, appId), eq(appKeys.keyId, keyId)));
    if (!row) return null;
    const raw = await keyring.unwrap(row.kekId, ownBytes(row.wrappedKey), appKeyAad(appId, keyId));
    if (!raw) {
      const why = keyring.keyIds.includes(row.kekId) ? "does not authenticate under" : "is wrapped under";
      return {
        unopenable: `app key "${keyId}" ${why} keyring key "${row.kekId}"${why === "is wrapped under" ? ", which is not in the keyring" : ""}`,
      };
    }
    const key = await importAesKey(raw);
    raw.fill(0);
    cache.set(`${appId}/${keyId}`, key, readAt);
    return key;
  }

  /** `row` was read before `readAt` (the key cache's generation then). */
  async function unwrapDeviceKey(row: typeof deviceKeys.$inferSelect, readAt: number): Promise<Unwrapped> {
    const cached = cache.get(`${row.appId}/${row.keyId}`);
    if (cached) return cached;
    const appKey = await unwrapAppKey(row.appId, row.appKeyId);
    if (!isKey(appKey)) return appKey ?? { unopenable: `app key "${row.appKeyId}" is not in the key store` };
    const raw = await aesOpen(appKey, ownBytes(row.wrappedKey), deviceKeyAad(row.appId, row.deviceId, row.keyId));
    if (!raw) return { unopenable: `device key "${row.keyId}" does not authenticate under its app key` };
    const key = await importAesKey(raw);
    raw.fill(0);
    cache.set(`${row.appId}/${row.keyId}`, key, readAt);
    return key;
  }

  /** The newest app key no erasure of the app covers, or a new one. */
  async function appKeyForSealing(appId: string, notBefore: Date | null): Promise<{ keyId: string; key: CryptoKey }> {
    const [row] = await db
      .select({ keyId: appKeys.keyId })
      .from(appKeys)
      .where(and(eq(appKeys.appId, appId), notBefore ? gt(appKeys.createdAt, notBefore) : undefined))
      .orderBy(desc(appKeys.createdAt))
      .limit(1);
    const existing = row && (await unwrapAppKey(appId, row.keyId));
    if (row && isKey(existing)) return { keyId: row.keyId, key: existing };
    const keyId = `ak_${toHex(randomBytes(16))}`;
    const raw = randomBytes(keyBytes);
    const { kekId, wrapped } = await keyring.wrap(raw, appKeyAad(appId, keyId));
    await db.insert(appKeys).values({ appId, keyId, kekId, wrappedKey: wrapped, createdAt: new Date() });
    const key = await importAesKey(raw);
    raw.fill(0);
    cache.set(`${appId}/${keyId}`, key);
    return { keyId, key };
  }

  async function covering(appId: string, deviceId: string | null): Promise<ErasureRecord | null> {
    let known = appErasures.get(appId);
    if (!known) {
      const readAt = appErasures.generation;
      known = await erasuresOf(appId);
      appErasures.set(appId, known, readAt);
    }
    if (known !== "many") return known.app ?? (deviceId === null ? null : (known.devices.get(deviceId) ?? null));
    const id = `${appId}/${deviceId ?? ""}`;
    const cached = coverings.get(id);
    if (cached) return cached.erasure;
    const readAt = coverings.generation;
    const erasure = await coveringNow(appId, deviceId);
    coverings.set(id, { erasure }, readAt);
    return erasure;
  }

  /** An app's erasures: the latest of the whole app, and each device's latest. */
  async function erasuresOf(appId: string): Promise<AppErasures> {
    const rows = await db
      .select()
      .from(erasures)
      .where(eq(erasures.appId, appId))
      .orderBy(erasures.requestedAt)
      .limit(appErasuresMax + 1);
    if (rows.length > appErasuresMax) return "many";
    const known: AppErasures = { app: null, devices: new Map() };
    for (const row of rows) {
      if (row.deviceId === null) known.app = toRecord(row);
      else known.devices.set(row.deviceId, toRecord(row));
    }
    return known;
  }

  async function coveringNow(appId: string, deviceId: string | null): Promise<ErasureRecord | null> {
    const [row] = await db
      .select()
      .from(erasures)
      .where(
        and(
          eq(erasures.appId, appId),
          deviceId === null
            ? isNull(erasures.deviceId)
            : or(isNull(erasures.deviceId), eq(erasures.deviceId, deviceId)),
        ),
      )
      // An erasure of the whole app covers everything, whenever a device erasure came.
      .orderBy(sql`${erasures.deviceId} is null desc`, desc(erasures.requestedAt))
      .limit(1);
    return row ? toRecord(row) : null;
  }

  return {
    async sealingKey(appId, deviceId) {
      const id = `${appId}/${deviceId}`;
      // Never a key from before the device's latest erasure (also one this process still holds):
      // one imported from a region that had not learned of it yet is refused anyway, this makes sure.
      const erased = await covering(appId, deviceId);
      const notBefore = erased ? new Date(erased.requestedAt) : null;
      const cached = sealing.get(id);
      if (cached && (notBefore === null || cached.createdAtMs > notBefore.getTime())) {
        return { keyId: cached.keyId, key: cached.key };
      }
      const readAt = { sealing: sealing.generation, cache: cache.generation };
      const [row] = await db
        .select()
        .from(deviceKeys)
        .where(
          and(
            eq(deviceKeys.appId, appId),
            eq(deviceKeys.deviceId, deviceId),
            notBefore ? gt(deviceKeys.createdAt, notBefore) : undefined,
          ),
        )
        .orderBy(desc(deviceKeys.createdAt))
        .limit(1);
      const existing = row && (await unwrapDeviceKey(row, readAt.cache));
      if (row && isKey(existing)) {
        const found = { keyId: row.keyId, key: existing };
        sealing.set(id, { ...found, createdAtMs: row.createdAt.getTime() }, readAt.sealing);
        return found;
      }
      const appKey = await appKeyForSealing(appId, notBefore);
      const keyId = `dk_${toHex(randomBytes(16))}`;
      const raw = randomBytes(keyBytes);
      const wrapped = await aesSeal(appKey.key, raw, deviceKeyAad(appId, deviceId, keyId));
      const createdAt = new Date();
      await db
        .insert(deviceKeys)
        .values({ appId, deviceId, keyId, appKeyId: appKey.keyId, wrappedKey: wrapped, createdAt });
      const key = await importAesKey(raw);
      raw.fill(0);
      cache.set(`${appId}/${keyId}`, key);
      const created = { keyId, key };
      sealing.set(id, { ...created, createdAtMs: createdAt.getTime() });
      return created;
    },

    async openingKey(appId, keyId) {
      const cached = cache.get(`${appId}/${keyId}`);
      if (cached) return cached;
      const readAt = cache.generation;
      const [row] = await db
        .select()
        .from(deviceKeys)
        .where(and(eq(deviceKeys.appId, appId), eq(deviceKeys.keyId, keyId)));
      return row ? unwrapDeviceKey(row, readAt) : null;
    },

    async carriedKeys(appId, keyId) {
      const cached = carried.get(`${appId}/${keyId}`);
      if (cached) return cached;
      const readAt = carried.generation;
      const [device] = await db
        .select()
        .from(deviceKeys)
        .where(and(eq(deviceKeys.appId, appId), eq(deviceKeys.keyId, keyId)));
      if (!device) return null;
      const [app] = await db
        .select()
        .from(appKeys)
        .where(and(eq(appKeys.appId, appId), eq(appKeys.keyId, device.appKeyId)));
      if (!app) return null;
      const keys: CarriedKeys = {
        appKey: {
          keyId: app.keyId,
          kekId: app.kekId,
          wrappedKey: Buffer.from(app.wrappedKey).toString("base64"),
          createdAt: app.createdAt.getTime(),
        },
        deviceKey: {
          keyId: device.keyId,
          deviceId: device.deviceId,
          appKeyId: device.appKeyId,
          wrappedKey: Buffer.from(device.wrappedKey).toString("base64"),
          createdAt: device.createdAt.getTime(),
        },
      };
      carried.set(`${appId}/${keyId}`, keys, readAt);
      return keys;
    },

    async importKeys(appId, { appKey, deviceKey }) {
      // Most replicas are of devices whose key is already here (and in use): nothing to store.
      if (cache.get(`${appId}/${deviceKey.keyId}`)) return true;
      // A key created before an erasure that covers it is what the erasure destroyed: a tombstone
      // wins over any copy a peer still holds.
      const erased = await covering(appId, deviceKey.deviceId);
      if (erased && deviceKey.createdAt <= Date.parse(erased.requestedAt)) return false;
      const appErasure = await covering(appId, null);
      if (appErasure && appKey.createdAt <= Date.parse(appErasure.requestedAt)) return false;
      await db.transaction(async (tx) => {
        await tx
          .insert(appKeys)
          .values({
            appId,
            keyId: appKey.keyId,
            kekId: appKey.kekId,
            wrappedKey: new Uint8Array(Buffer.from(appKey.wrappedKey, "base64")),
            createdAt: new Date(appKey.createdAt),
          })
          .onConflictDoNothing();
        await tx
          .insert(deviceKeys)
          .values({
            appId,
            deviceId: deviceKey.deviceId,
            keyId: deviceKey.keyId,
            appKeyId: deviceKey.appKeyId,
            wrappedKey: new Uint8Array(Buffer.from(deviceKey.wrappedKey, "base64")),
            createdAt: new Date(deviceKey.createdAt),
          })
          .onConflictDoNothing();
      });
      return true;
    },

    covering,

    async appErased(appId) {
      return (await covering(appId, null)) !== null;
    },

    async record(erasure) {
      await db
        .insert(erasures)
        .values({
          id: erasure.id,
          appId: erasure.appId,
          deviceId: erasure.deviceId,
          requestedAt: new Date(erasure.requestedAt),
        })
        .onConflictDoNothing();
      appErasures.clear();
      coverings.clear();
      const [row] = await db.select().from(erasures).where(eq(erasures.id, erasure.id));
      if (!row) throw new Error(`erasure ${erasure.id} was recorded but is not in the key store`);
      return toRecord(row);
    },

    async destroyKeys(erasure) {
      // Every key of the device (or app) held now, also one created after `requestedAt` by a
      // region that had not learned of the erasure: what it sealed is erased too, never less.
      const destroyed = await db.transaction(async (tx) => {
        const device = and(
          eq(deviceKeys.appId, erasure.appId),
          erasure.deviceId === null ? undefined : eq(deviceKeys.deviceId, erasure.deviceId),
        );
        const rows = await tx.delete(deviceKeys).where(device).returning({ keyId: deviceKeys.keyId });
        if (erasure.deviceId === null) await tx.delete(appKeys).where(eq(appKeys.appId, erasure.appId));
        return rows.map((row) => row.keyId);
      });
      cache.clear();
      sealing.clear();
      carried.clear();
      appErasures.clear();
      coverings.clear();
      return destroyed;
    },

    async complete(erasureId, completedAtMs) {
      await db
        .update(erasures)
        .set({ completedAt: new Date(completedAtMs) })
        .where(and(eq(erasures.id, erasureId), isNull(erasures.completedAt)));
      appErasures.clear();
      coverings.clear();
    },

    async find(appId, erasureId) {
      const [row] = await db
        .select()
        .from(erasures)
        .where(and(eq(erasures.appId, appId), eq(erasures.id, erasureId)));
      if (!row) return null;
      const { completedAt, ...erasure } = toRecord(row);
      return { erasure, completedAt };
    },

    async list() {
      const rows = await db.select().from(erasures).orderBy(erasures.requestedAt, sql`${erasures.id}`);
      return rows.map(toRecord);
    },

    close: () => handle.close(),
  };
}

function isKey(value: CryptoKey | null | undefined | { unopenable: string }): value is CryptoKey {
  return value != null && !("unopenable" in value);
}

function toRecord(row: typeof erasures.$inferSelect): ErasureRecord {
  return {
    id: row.id,
    appId: row.appId,
    deviceId: row.deviceId,
    requestedAt: row.requestedAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}

/** A driver may hand back a view into a shared buffer; WebCrypto wants exactly these bytes. */
function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}
