/**
 * The key store's contract (keystore.ts implements it): device and app keys, created lazily and
 * carried by replicas, and the erasure records that destroy them. The store (regional/store/) and
 * the codec take this interface, never the implementation.
 */
import type { CryptoKey } from "../../shared/hmac.ts";
import type { Erasure, RegionErasure } from "../../shared/lifecycle.ts";
import type { CarriedKeys } from "../../shared/replication.ts";

export type DeviceKey = { keyId: string; key: CryptoKey };
/** An erasure as recorded here, with when this region finished applying it. */
export type ErasureRecord = Erasure & { completedAt: string | null };

export interface Keystore {
  /** The key new batches of this device are sealed under: the newest one no erasure covers, or a new one. */
  sealingKey(appId: string, deviceId: string): Promise<DeviceKey>;
  /**
   * A device key by id, unwrapped; null when this region does not hold it (never had it, or an
   * erasure destroyed it); `{ unopenable }` when it holds it but cannot unwrap it (its app key is
   * wrapped under a keyring key that is gone, or does not authenticate): why, naming the key.
   */
  openingKey(appId: string, keyId: string): Promise<CryptoKey | null | { unopenable: string }>;
  /** A device key and its app key as stored (wrapped), for a replica to carry; null when not held. */
  carriedKeys(appId: string, keyId: string): Promise<CarriedKeys | null>;
  /** Stores carried keys unless an erasure known here covers them; false when one does. */
  importKeys(appId: string, keys: CarriedKeys): Promise<boolean>;
  /** The erasure of the whole app if there is one, else the device's latest, if any. */
  covering(appId: string, deviceId: string): Promise<ErasureRecord | null>;
  /** Whether the whole app has been erased. */
  appErased(appId: string): Promise<boolean>;
  /** Records an erasure (idempotent by id) and answers the one recorded under its id: the first one sent. */
  record(erasure: Erasure): Promise<ErasureRecord>;
  /** Destroys every key the erasure covers; answers the device key ids destroyed. */
  destroyKeys(erasure: Erasure): Promise<string[]>;
  complete(erasureId: string, completedAtMs: number): Promise<void>;
  find(appId: string, erasureId: string): Promise<RegionErasure | null>;
  list(): Promise<ErasureRecord[]>;
  close(): Promise<void>;
}
