/**
 * The store's contract: everything the rest of the region may ask of its database, so routes and
 * replication never touch SQL. Two faces over the same tables:
 *
 * - `BatchStore`, for the routes (regional/routes/): batches in, sealed; log pages and device
 *   lists out; the small admin surface (apps, key hashes, revocations).
 * - `ReplicaStore`, for regional/replication/ only: sealed batches out and in, the outbox,
 *   digests and control-plane state.
 *
 * Both are built from `StoreDeps` by index.ts, the one implementation (drizzle, the same on PGlite
 * and PostgreSQL); each file beside it implements a few methods. This file imports no
 * implementation, so nothing in the store imports in a circle: implementations take their types
 * from here, and index.ts takes the implementations. A new read or write is a method here, a
 * function in the file it belongs to, and one line in index.ts.
 */
import { z } from "zod";
import type { AppRecord, KeyRecord } from "../../shared/admin.ts";
import type { Batch, BatchKey } from "../../shared/batch.ts";
import type { Clock } from "../../shared/clock.ts";
import type { TailPage, TailQuery, VolumeAnswer, VolumeQuery } from "../../shared/console-api.ts";
import type { StoredDeviceSetting } from "../../shared/device-settings.ts";
import type {
  IssueDetail,
  IssuePage,
  IssueQuery,
  IssueStatus,
  RegionIssuePatch,
  WebhookConfig,
  WebhookEvent,
} from "../../shared/issues.ts";
import { type KeyKind, keyKinds } from "../../shared/keys.ts";
import type { AppSettings, Erasure, RegionErasure, UsageAnswer, UsageQuery } from "../../shared/lifecycle.ts";
import { limits } from "../../shared/limits.ts";
import type { DevicePage, DeviceQuery, LogPage, LogQuery } from "../../shared/read.ts";
import type {
  BatchVersion,
  Bucket,
  BucketDigest,
  ControlState,
  ReplicaOutcome,
  SealedBatch,
} from "../../shared/replication.ts";
import type { Result } from "../../shared/result.ts";
import { storableString } from "../../shared/storable.ts";
import type { Database } from "../db/client.ts";
import type { Keystore } from "../keystore/types.ts";
import type { RegionMetrics } from "../metrics.ts";
import type { BatchCodec, IntegrityFailure } from "./codec.ts";

// ---- Batches, as the routes store and read them ----

/**
 * `replica`: a batch newly stored under a placement whose caller sends it now (`leaseMs` > 0), as
 * its peers receive it, built from the bytes just sealed, so the sender need not read it back.
 */
export type PutResult = { duplicate: boolean; replica?: SealedBatch };
/**
 * Where a batch accepted from the edge comes from and goes: this region as its origin, and the
 * peers owed a copy. With `leaseMs` > 0 the caller sends it now, and the replication worker takes
 * over what is unconfirmed after `leaseMs` (tracked by origin sequence, marks.ts); with 0 nobody
 * sends it now, and it gets an outbox row per peer, due at once.
 */
export type Placement = { origin: string; outboxPeers: string[]; leaseMs: number };
/** Expected refusals: the id is taken by other content, or the stored copy cannot be read back. */
export type PutFailure =
  | { kind: "conflict"; message: string }
  | { kind: "integrity"; message: string }
  /** An erasure known here covers it: the app was deleted, or the device erased after this arrived. */
  | { kind: "erased"; message: string };
/** A cursor that does not decode (400), or an `around` line this region does not hold (404). */
export type ReadFailure = { kind: "bad_cursor"; message: string } | { kind: "not_found"; message: string };

// ---- Retention ----

/** A settings change as regions compare them: `updatedAt` in epoch milliseconds (settings.ts). */
export type SettingsChange = { retentionDays: number; updatedAt: number };
/** What one lifecycle run removed (expire.ts). */
export type ExpiryReport = { partitionsDropped: number; devicesDeleted: number };

// ---- Apps and keys, as the admin CLI registers them ----

// The records are the admin API's answers too, so their schemas are shared (shared/admin.ts).
export type { AppRecord, KeyRecord };

/** A key as regions know it: its SHA-256 hash, never the key. The admin routes parse bodies with it. */
export const newKeySchema = z.strictObject({
  hash: z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 hash in lowercase hex"),
  kind: z.enum(keyKinds),
  label: storableString().max(limits.shortFieldLengthMax),
});
export type NewKey = z.infer<typeof newKeySchema>;
export type RevokedKey = NewKey & { appId: string };

export interface BatchStore {
  /** Stores a batch and updates its device in one transaction; a repeat of the same content is a duplicate. */
  put(appId: string, batch: Batch, placement?: Placement): Promise<Result<PutResult, PutFailure>>;
  readLogs(appId: string, query: LogQuery): Promise<Result<LogPage, ReadFailure>>;
  /** Devices by most recent activity first, with their lines per level; searched and paged. */
  devices(appId: string, query: DeviceQuery): Promise<Result<DevicePage, ReadFailure>>;
  /** Lines per level per time bucket, from clear batch metadata (nothing is decrypted). */
  volume(appId: string, query: VolumeQuery): Promise<VolumeAnswer>;
  /** Lines in this region's arrival order past a tail cursor; `region` names this region in the cursor. */
  tail(appId: string, query: TailQuery, region: string): Promise<Result<TailPage, ReadFailure>>;
  /** What the app keeps per day of receipt, from clear metadata, unexpired batches only. */
  usage(appId: string, query: UsageQuery): Promise<UsageAnswer>;
  /** The app's settings, or null when the app is unknown here. */
  appSettings(appId: string): Promise<AppSettings | null>;
  /** Keeps the change if it is the latest (settings.ts) and re-files the app's batches; null for an unknown app. */
  changeAppSettings(appId: string, change: SettingsChange): Promise<AppSettings | null>;
  /** The app's remote logging settings at every scope, or null when the app is unknown here. */
  deviceSettings(appId: string): Promise<StoredDeviceSetting[] | null>;
  /** Keeps the change if it wins (device-settings.ts); the row held afterwards, null for an unknown app. */
  changeDeviceSetting(appId: string, change: StoredDeviceSetting): Promise<StoredDeviceSetting | null>;
  /** One lifecycle run: partitions for the next `aheadMs` created, expired ones dropped (expire.ts). */
  expire(aheadMs: number): Promise<ExpiryReport>;
  /** The app's batch count and one digest of the versions held, to compare regions. */
  appDigest(appId: string): Promise<{ batches: number; digest: string }>;
  /** Creates the app or renames it; keys already known are left as they are. */
  upsertApp(app: { id: string; name: string; keys: NewKey[] }): Promise<AppRecord>;
  listApps(): Promise<AppRecord[]>;
  /** The app's keys, or null when the app is unknown here. */
  appKeys(appId: string): Promise<KeyRecord[] | null>;
  /** Adds a key to a known app (a repeat changes nothing); null when the app is unknown here. */
  addKey(appId: string, key: NewKey): Promise<KeyRecord | null>;
  /** A key by its hash: whose it is, its kind, whether it is revoked; null when unknown here. */
  keyByHash(hash: string): Promise<{ appId: string; kind: KeyKind; revoked: boolean } | null>;
  /** Marks a key revoked, recording it even if this region never saw it. */
  revokeKey(key: RevokedKey): Promise<void>;
  revokedKeyHashes(): Promise<string[]>;
  /**
   * Applies an erasure here (erasure.ts; idempotent by id: the first one recorded under an id is
   * the one applied) and answers its state here; null when the id names another app's erasure.
   */
  erase(erasure: Erasure): Promise<RegionErasure | null>;
  /** An erasure's state here; null when this region does not know it (yet). */
  erasure(appId: string, erasureId: string): Promise<RegionErasure | null>;
  /** The app's issue groups, most recently seen first (issue-reads.ts). */
  issues(appId: string, query: IssueQuery): Promise<Result<IssuePage, ReadFailure>>;
  /** One group with its sample and latest occurrences; null when unknown here. */
  issue(appId: string, id: string): Promise<IssueDetail | null>;
  /** Keeps a status change if it is the latest; the status now, null when the group is unknown here. */
  changeIssueStatus(appId: string, id: string, patch: RegionIssuePatch): Promise<IssueStatus | null>;
}

// ---- Replication's side ----

/** An outbox entry: a batch owed to one peer, and how often sending it has failed. */
export type OutboxEntry = BatchKey & { attempts: number };
export type PeerBacklog = { entries: number; oldestAgeMs: number | null };
/** How a failed send waits: base·2^attempts, capped at max (outbox.ts). */
export type Backoff = { baseMs: number; maxMs: number };

export interface ReplicaStore {
  /** The batches as stored, sealed, for a peer; keys not held here are left out. */
  loadSealed(keys: BatchKey[]): Promise<SealedBatch[]>;
  /** Stores a peer's batch by the convergence rule (replica.ts), or says why it does not open. */
  apply(batch: SealedBatch): Promise<Result<ReplicaOutcome, IntegrityFailure>>;
  /** `apply` for a replicate call's batches, those new here in one transaction; results in order. */
  applyMany(batches: SealedBatch[]): Promise<Result<ReplicaOutcome, IntegrityFailure>[]>;
  /** Leases up to `limit` due entries of one peer for `leaseMs`. */
  claim(peer: string, limit: number, leaseMs: number): Promise<OutboxEntry[]>;
  /** The peer holds these: they leave its outbox. */
  complete(peer: string, keys: BatchKey[]): Promise<void>;
  /** The send failed: these wait for the backoff. */
  retry(peer: string, keys: BatchKey[], backoff: Backoff): Promise<void>;
  /** The peer answers again: up to `limit` of its entries backing off are due now; how many. */
  resume(peer: string, limit: number): Promise<number>;
  /** Gives each of these peers a mark (marks.ts) if it has none, before any batch is tracked for it. */
  startMarks(peers: string[]): Promise<void>;
  /**
   * Moves the peer's mark past the batches it confirmed (`confirmed`: this process's record of
   * it), handing those still unconfirmed `leaseMs` after arrival to the outbox; the keys passed,
   * and how many went to the outbox.
   */
  advanceMark(
    peer: string,
    confirmed: (key: BatchKey) => boolean,
    leaseMs: number,
  ): Promise<{ passed: BatchKey[]; late: number }>;
  /**
   * Per peer with a mark, what the outbox worker's pass has to look at: whether an outbox entry is
   * due, whether any batch lies at or above the mark. One cheap query, so an idle pass costs little.
   */
  owed(): Promise<Map<string, { due: boolean; aboveMark: boolean }>>;
  /** What each peer is owed: outbox entries and unconfirmed batches above its mark (`confirmed`: as above). */
  backlog(confirmed?: (peer: string, key: BatchKey) => boolean): Promise<Map<string, PeerBacklog>>;
  /** Format-1 digests of every unexpired batch, computed over the whole table (store/digests.ts). */
  digests(): Promise<BucketDigest[]>;
  /**
   * Format-2 digests, kept on write, of the hours before `before.hour` (all when undefined) and,
   * with `before.minute` (minutes since the epoch, within that hour), that hour's minutes before it.
   */
  heldDigests(before?: { hour: number; minute?: number }): Promise<BucketDigest[]>;
  entries(buckets: Bucket[]): Promise<BatchVersion[]>;
  exportControl(): Promise<ControlState>;
  mergeControl(state: ControlState): Promise<void>;
}

// ---- Webhooks (webhooks.ts) ----

/** A webhook event owed: which event, of which group, for which line. */
export type WebhookEntry = {
  id: number;
  appId: string;
  event: WebhookEvent;
  groupId: string;
  batchId: string;
  lineIndex: number;
  createdAt: Date;
  attempts: number;
};

export interface WebhookStore {
  /** Sets (or, with null, removes) the app's webhook here. */
  setWebhook(appId: string, config: WebhookConfig | null): Promise<void>;
  webhook(appId: string): Promise<WebhookConfig | null>;
  /** Leases up to `limit` due events for `leaseMs`. */
  claim(limit: number, leaseMs: number): Promise<WebhookEntry[]>;
  /** The event's JSON body, built now; null when its group, batch or line is gone (erased, expired). */
  body(entry: WebhookEntry): Promise<Record<string, unknown> | null>;
  complete(id: number): Promise<void>;
  /** The send failed: try again after base·2^attempts, capped, scaled by a random 50-100 %. */
  retry(id: number, backoff: Backoff): Promise<void>;
}

// ---- What an implementation is built from ----

export type StoreDeps = {
  db: Database;
  codec: BatchCodec;
  /** Device and app keys, and the erasures (tombstones) every write checks. */
  keystore: Keystore;
  clock: Clock;
  /**
   * True when this process is the database's only session (PGlite): its transactions run one at a
   * time, so the batch ids' locks, which order sessions, are left out (`lockBatchIds`).
   */
  soleSession?: boolean;
  /** Batches and sealed bytes one log read may open past its start (see read-logs.ts); tests lower them. */
  batchesScannedMax?: number;
  /** Group commit's series (regional/metrics.ts); tests may leave them out. */
  metrics?: Pick<RegionMetrics, "groupBatches" | "commitSeconds">;
  storedBytesOpenedMax?: number;
  /** Batches one log read may pass over unopened, ruled out by their search filter. */
  batchesFilteredMax?: number;
  /** Milliseconds one log read page may spend before it stops early with a cursor. */
  pageMsMax?: number;
};
