/**
 * The region's storage, behind one interface so routes never touch SQL: batches in (sealed),
 * log pages and device lists out, plus the small admin surface (apps, key hashes, revocations).
 * `createDrizzleStore` is the one implementation, the same for PGlite and PostgreSQL.
 */
import type { Batch } from "../../shared/batch.ts";
import type { Clock } from "../../shared/clock.ts";
import type { KeyKind } from "../../shared/keys.ts";
import type { DeviceRecord, LogPage, LogQuery } from "../../shared/read.ts";
import type { Result } from "../../shared/result.ts";
import type { Database } from "../db/client.ts";
import { createAdminStore } from "./admin-store.ts";
import type { BatchCodec } from "./codec.ts";
import { listDevices } from "./devices.ts";
import { putBatch } from "./put-batch.ts";
import { readLogs } from "./read-logs.ts";

export type PutResult = { duplicate: boolean };
/**
 * Where a batch accepted from the edge comes from and goes: this region as its origin, and the
 * peers owed a copy (an outbox row each, leased for `leaseMs` to the caller that sends it now).
 */
export type Placement = { origin: string; outboxPeers: string[]; leaseMs: number };
/** Expected refusals: the id is taken by other content, or the stored copy cannot be read back. */
export type PutFailure = { kind: "conflict"; message: string } | { kind: "integrity"; message: string };
export type ReadFailure = { kind: "bad_cursor"; message: string };

export type AppRecord = { id: string; name: string; createdAt: string };
export type KeyRecord = { hash: string; kind: KeyKind; label: string; createdAt: string; revokedAt: string | null };
export type NewKey = { hash: string; kind: KeyKind; label: string };
export type RevokedKey = NewKey & { appId: string };

export interface BatchStore {
  /** Stores a batch and updates its device in one transaction; a repeat of the same content is a duplicate. */
  put(appId: string, batch: Batch, placement?: Placement): Promise<Result<PutResult, PutFailure>>;
  readLogs(appId: string, query: LogQuery): Promise<Result<LogPage, ReadFailure>>;
  /** Devices by most recent activity first. */
  devices(appId: string): Promise<DeviceRecord[]>;
  /** Creates the app or renames it; keys already known are left as they are. */
  upsertApp(app: { id: string; name: string; keys: NewKey[] }): Promise<AppRecord>;
  listApps(): Promise<AppRecord[]>;
  /** The app's keys, or null when the app is unknown here. */
  appKeys(appId: string): Promise<KeyRecord[] | null>;
  /** A key by its hash: whose it is, its kind, whether it is revoked; null when unknown here. */
  keyByHash(hash: string): Promise<{ appId: string; kind: KeyKind; revoked: boolean } | null>;
  /** Marks a key revoked, recording it even if this region never saw it. */
  revokeKey(key: RevokedKey): Promise<void>;
  revokedKeyHashes(): Promise<string[]>;
}

export type StoreDeps = {
  db: Database;
  codec: BatchCodec;
  clock: Clock;
  /** Batches and sealed bytes one log read may open past its start (see read-logs.ts); tests lower them. */
  batchesScannedMax?: number;
  storedBytesOpenedMax?: number;
};

export function createDrizzleStore(deps: StoreDeps): BatchStore {
  return {
    put: (appId, batch, placement) => putBatch(deps, appId, batch, placement),
    readLogs: (appId, query) => readLogs(deps, appId, query),
    devices: (appId) => listDevices(deps.db, appId),
    ...createAdminStore(deps),
  };
}
