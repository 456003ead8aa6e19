/**
 * The region-to-region wire contract. A batch travels as it is stored: the sealed envelope
 * (base64) with the clear metadata that names its version (origin region, received time), so a
 * peer stores the same bytes and nothing is decrypted in transit. Digests summarize what a region
 * holds per app and hour, so regions (and the admin CLI) compare holdings without listing them.
 */
import { z } from "zod";
import { storedDeviceSettingSchema } from "./device-settings.ts";
import { utf8Length } from "./encoding.ts";
import { keyKinds } from "./keys.ts";
import { erasureSchema, retentionDaysDefault, retentionDaysSchema } from "./lifecycle.ts";
import { limits } from "./limits.ts";
import { regionNameSchema } from "./regions.ts";
import { storableString } from "./storable.ts";

const appIdSchema = z.string().regex(/^[a-z0-9]{16}$/, "expected an app id");
/** Epoch milliseconds a Date can hold (±8.64e15): a time past that would fail deep in a query. */
const epochMsSchema = z.int().min(0).max(8.64e15);
const hourMs = 3_600_000;
const batchIdSchema = storableString().min(1).max(limits.idLengthMax);

/** A search filter's base64 at most: 64 KiB of filter (regional/store/search-filter.ts). */
const searchFilterBase64Max = Math.ceil((64 * 1024) / 3) * 4;

const countSchema = z.int().min(0).max(limits.batchLinesMax);

/** The clear metadata a batch is stored with, which seal format 2 binds into its envelope. */
export const batchMetaSchema = z.strictObject({
  deviceId: storableString().min(1).max(limits.idLengthMax),
  firstTs: epochMsSchema,
  lastTs: epochMsSchema,
  counts: z.strictObject({
    traceCount: countSchema,
    debugCount: countSchema,
    infoCount: countSchema,
    warnCount: countSchema,
    errorCount: countSchema,
    fatalCount: countSchema,
  }),
});

const keyIdSchema = z.string().regex(/^[ad]k_[0-9a-f]{32}$/, "expected a key store key id");

/**
 * The keys a format-3 batch is sealed under, as the key store holds them (wrapped): its device key,
 * wrapped under the app key, and that app key, wrapped under the cluster keyring. They travel
 * with the batch so the receiver can open it and store them (regional/keystore/), unless an erasure
 * it knows covers them.
 */
export const carriedKeysSchema = z.strictObject({
  appKey: z.strictObject({
    keyId: keyIdSchema,
    kekId: storableString().min(1).max(64),
    wrappedKey: z.base64(),
    createdAt: epochMsSchema,
  }),
  deviceKey: z.strictObject({
    keyId: keyIdSchema,
    deviceId: storableString().min(1).max(limits.idLengthMax),
    appKeyId: keyIdSchema,
    wrappedKey: z.base64(),
    createdAt: epochMsSchema,
  }),
});
export type CarriedKeys = z.infer<typeof carriedKeysSchema>;

export const sealedBatchSchema = z
  .strictObject({
    appId: appIdSchema,
    batchId: batchIdSchema,
    /** "" for rows stored before replication existed. */
    origin: z.union([regionNameSchema, z.literal("")]),
    /** Epoch milliseconds at the origin. */
    receivedAt: epochMsSchema,
    /** The seal format (regional/store/codec.ts); a sender from before formats sends none, meaning 1. */
    format: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).default(1),
    /** Required from format 2, whose seal binds it: the receiver checks it by opening the seal. */
    meta: batchMetaSchema.optional(),
    keyId: storableString().min(1).max(limits.shortFieldLengthMax),
    wrappedKey: z.base64(),
    ciphertext: z.base64(),
    /** Format 3 and 4: the device and app keys it is sealed under (a sender whose keys were erased sends none). */
    keys: carriedKeysSchema.optional(),
    /**
     * The batch's search filter as its origin computed it (regional/store/search-filter.ts), so a
     * peer stores it without computing it; none from a sender from before filters, or for a batch
     * stored without one. Opaque here: keyed hashes, of no use without the keyring.
     */
    searchFilter: z.base64().max(searchFilterBase64Max).optional(),
  })
  .refine((batch) => batch.format === 1 || batch.meta !== undefined, {
    message: "format 2 and 3 batches carry their metadata",
    path: ["meta"],
  });
export type SealedBatch = z.infer<typeof sealedBatchSchema>;

/** Batches per replicate call (and per sync/fetch). */
export const replicateBatchesMax = 64;

/**
 * The most one sealed batch weighs as JSON on the wire. Its canonical JSON is at most
 * `limits.inflatedBytesMax` (what an upload may inflate to), zstd grows incompressible input by
 * under 1/128 plus a frame, AES-GCM adds its tag, base64 takes 4/3, and the ids, key id and
 * wrapped key fit in the last few KiB, beside the search filter.
 */
export const sealedBatchBytesMax =
  Math.ceil((((limits.inflatedBytesMax * 129) / 128 + 1024) * 4) / 3) + searchFilterBase64Max + 4096;

/**
 * A replicate call's body cap, which the receiver enforces. Two of the largest batches fit, so
 * any batch fits in a call of its own; senders pack calls up to this (`packReplicateCalls`) as
 * well as up to `replicateBatchesMax`, so a receiver never buffers 64 batches of 7 MB at once.
 */
export const replicateBodyBytesMax = 2 * sealedBatchBytesMax;

/**
 * Splits sealed batches, in order, into the batches of consecutive replicate calls: each call at
 * most `replicateBatchesMax` batches and `bytesMax` bytes of body (a single batch past `bytesMax`
 * still goes alone, and the receiver says 413).
 */
export function packReplicateCalls(
  batches: readonly SealedBatch[],
  bytesMax: number = replicateBodyBytesMax,
): SealedBatch[][] {
  // `{"from":"<region>","batches":[…]}` around the batches, with the region name at its longest.
  const envelopeBytes = 64;
  const calls: SealedBatch[][] = [];
  let current: SealedBatch[] = [];
  let bytes = envelopeBytes;
  for (const batch of batches) {
    const size = utf8Length(JSON.stringify(batch)) + 1;
    if (current.length > 0 && (current.length === replicateBatchesMax || bytes + size > bytesMax)) {
      calls.push(current);
      current = [];
      bytes = envelopeBytes;
    }
    current.push(batch);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

export const replicateRequestSchema = z.strictObject({
  /** The region sending; a replica it received is never sent on by the receiver. */
  from: regionNameSchema,
  batches: z.array(sealedBatchSchema).min(1).max(replicateBatchesMax),
});
export type ReplicateRequest = z.infer<typeof replicateRequestSchema>;

/**
 * What the receiver did with each batch: stored it, already held this version, replaced its own
 * version with this one, kept its own (which wins by the convergence rule), or refused it: because
 * an erasure it knows covers it (a tombstone), or because it has expired by the app's retention.
 * The sender is done with a refused one too: nobody keeps an erased or expired batch.
 */
export const replicaOutcomes = ["stored", "held", "replaced", "kept", "erased", "expired"] as const;
export type ReplicaOutcome = (typeof replicaOutcomes)[number];
/** A peer's answer to `/replicate`: what it did with each batch it holds now. */
export const replicateResponseSchema = z.object({
  results: z.array(z.object({ appId: z.string(), batchId: z.string(), outcome: z.enum(replicaOutcomes) })),
});
export type ReplicateResponse = z.infer<typeof replicateResponseSchema>;

/** An app-hour, or one minute (0-59) of it. */
export type Bucket = { appId: string; hour: number; minute?: number };
/**
 * One app-hour: how many batches and a hash of their `batchId:origin:receivedAt`. Format 1 (the
 * previous version's, computed over the whole table on every ask) is an MD5 of them sorted;
 * format 2 (kept as batches are written) the XOR of their MD5s, as 32 hex digits. The two never
 * compare equal, so a region compares digests of one format only.
 */
const bucketDigestSchema = z.object({
  appId: z.string(),
  hour: z.int().min(0),
  minute: z.int().min(0).max(59).optional(),
  count: z.int().min(0),
  hash: z.string(),
});
export type BucketDigest = z.infer<typeof bucketDigestSchema>;

/** The format a region asks for with `?format=2`; a region of the previous version ignores it. */
export const digestsFormat = 2;
/**
 * `GET sync/digests?format=2[&before=<hour>[&beforeMinute=<minute>]]`: format-2 digests of the
 * buckets before that hour (all of them without it), of buckets none of whose batches can have
 * expired; with `beforeMinute` (minutes since the epoch, within hour `before`), also that hour's
 * minutes before it, one bucket each, so the hour still running is compared too. Without
 * `format`, the answer is format 1 over every unexpired batch, as the previous version asks.
 */
export const digestsQuerySchema = z
  .strictObject({
    format: z.literal(String(digestsFormat)).optional(),
    before: z
      .string()
      .regex(/^\d{1,12}$/, "expected an hour since the epoch")
      .transform(Number)
      .optional(),
    beforeMinute: z
      .string()
      .regex(/^\d{1,14}$/, "expected a minute since the epoch")
      .transform(Number)
      .optional(),
  })
  .refine((query) => query.beforeMinute === undefined || Math.floor(query.beforeMinute / 60) === query.before, {
    message: "beforeMinute must fall within the hour `before`",
    path: ["beforeMinute"],
  });
export type DigestsQuery = z.input<typeof digestsQuerySchema>;
/** A region's answer to `sync/digests` (peers' anti-entropy, the admin CLI's `verify`). */
export const digestsResponseSchema = z.object({
  /** 2 when the region answered format 2; absent from a format-1 answer. */
  format: z.literal(digestsFormat).optional(),
  /** The `beforeMinute` asked, when the answer holds those minutes (a previous version's does not). */
  beforeMinute: z.int().optional(),
  buckets: z.array(bucketDigestSchema),
});
export type DigestsResponse = z.infer<typeof digestsResponseSchema>;

/**
 * The path and query of a format-2 ask: the buckets before `before.hour` (all when undefined) and,
 * with `before.minute`, that hour's minutes before it.
 */
export function digestsPath(path: string, before?: { hour: number; minute?: number }): string {
  if (!before) return `${path}?format=${digestsFormat}`;
  const minute = before.minute === undefined ? "" : `&beforeMinute=${before.minute}`;
  return `${path}?format=${digestsFormat}&before=${before.hour}${minute}`;
}

export const bucketSchema = z.strictObject({
  appId: appIdSchema,
  hour: z
    .int()
    .min(0)
    .max(Math.floor(8.64e15 / hourMs) - 1),
  minute: z.int().min(0).max(59).optional(),
});
export const entriesRequestSchema = z.strictObject({ buckets: z.array(bucketSchema).min(1).max(1000) });
/** A stored version, without its bytes. */
const batchVersionSchema = z.object({
  appId: z.string(),
  batchId: z.string(),
  origin: z.string(),
  receivedAt: z.number(),
});
export type BatchVersion = z.infer<typeof batchVersionSchema>;

/**
 * The convergence rule, the same in every region: of two versions of one batch id, the one
 * received first wins, then the smaller origin name. Applying a replica (regional/store/replica.ts)
 * and planning anti-entropy repairs both decide by it.
 */
export function versionWins(a: { receivedAt: number; origin: string }, b: { receivedAt: number; origin: string }) {
  return a.receivedAt !== b.receivedAt ? a.receivedAt < b.receivedAt : a.origin < b.origin;
}
/** A peer's answer to `sync/entries`. */
export const entriesResponseSchema = z.object({ entries: z.array(batchVersionSchema) });
export type EntriesResponse = z.infer<typeof entriesResponseSchema>;

export const fetchRequestSchema = z.strictObject({
  items: z
    .array(z.strictObject({ appId: appIdSchema, batchId: batchIdSchema }))
    .min(1)
    .max(replicateBatchesMax),
});
export type FetchResponse = { batches: SealedBatch[] };

/** Apps and key hashes with revocations, and erasures, which every region must end up holding alike. */
export const controlStateSchema = z.object({
  /** Tombstones: merging one unknown here applies it (regional/store/erasure.ts). Absent from older regions. */
  erasures: z.array(erasureSchema).default([]),
  apps: z.array(
    z.object({
      id: appIdSchema,
      name: storableString().min(1).max(limits.shortFieldLengthMax),
      createdAt: epochMsSchema,
      /** The app's settings and when they were set: the latest wins (regional/store/settings.ts). */
      retentionDays: retentionDaysSchema.default(retentionDaysDefault),
      settingsUpdatedAt: epochMsSchema.default(0),
    }),
  ),
  keys: z.array(
    z.object({
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      appId: appIdSchema,
      kind: z.enum(keyKinds),
      label: storableString().max(limits.shortFieldLengthMax),
      createdAt: epochMsSchema,
      revokedAt: epochMsSchema.nullable(),
    }),
  ),
  /** Remote logging settings of every app (regional/store/device-settings.ts). Absent from older regions. */
  deviceSettings: z.array(storedDeviceSettingSchema.extend({ appId: appIdSchema })).default([]),
});
export type ControlState = z.infer<typeof controlStateSchema>;

/** A peer's answer to `sync/fetch`, checked like any other input before it is applied. */
export const fetchResponseSchema = z.object({ batches: z.array(sealedBatchSchema).max(replicateBatchesMax) });
