/**
 * The `batches` row, built and read back in one place: a stored seal (codec.ts) with its clear
 * metadata, plus the version that names it (origin region, received time). The upload path, the
 * replica path and the benchmarks all write rows through `batchRow` (the upload and replica paths
 * insert them with `insertBatches`); reads and replication rebuild the seal with `storedFromRow`,
 * selecting `storedColumns`.
 */
import { sql } from "drizzle-orm";
import { levels } from "../../shared/batch.ts";
import type { BatchVersion } from "../../shared/replication.ts";
import { preparedInsert } from "../db/prepared-insert.ts";
import { batches } from "../db/schema/index.ts";
import type { BatchMeta, SealFormat, StoredSeal } from "./codec.ts";

/**
 * `expiresAtMs`: the version's receivedAt plus the app's retention (expiry.ts); `searchFilter`:
 * computed where the batch was sealed (search-filter.ts), null when the sender had none.
 */
export function batchRow(
  version: BatchVersion,
  stored: StoredSeal & { meta: BatchMeta },
  expiresAtMs: number,
  searchFilter: Uint8Array | null = null,
): typeof batches.$inferInsert {
  const { meta } = stored;
  return {
    appId: version.appId,
    batchId: version.batchId,
    deviceId: meta.deviceId,
    receivedAt: new Date(version.receivedAt),
    origin: version.origin,
    firstTs: new Date(meta.firstTs),
    lastTs: new Date(meta.lastTs),
    lineCount: levels.reduce((sum, level) => sum + meta.counts[`${level}Count`], 0),
    ...meta.counts,
    keyId: stored.keyId,
    wrappedKey: stored.wrappedKey,
    ciphertext: stored.ciphertext,
    sealFormat: stored.format,
    searchFilter,
    expiresAt: new Date(expiresAtMs),
    storedBytes: stored.wrappedKey.byteLength + stored.ciphertext.byteLength,
  };
}

/** Inserts `batchRow`s (with `originSeq` as `currentTransactionId` where the peers are owed by sequence). */
export const insertBatches = preparedInsert(batches);

/** The storing transaction's id, as `originSeq` takes it: one constant, so an insert's shape holds it by identity. */
export const currentTransactionId = sql`pg_current_xact_id()::text::bigint`;

/** The columns that name a stored version (`BatchVersion`, with `receivedAt` as a Date). */
export const versionColumns = {
  appId: batches.appId,
  batchId: batches.batchId,
  origin: batches.origin,
  receivedAt: batches.receivedAt,
};

/** The columns `storedFromRow` needs. */
export const storedColumns = {
  deviceId: batches.deviceId,
  firstTs: batches.firstTs,
  lastTs: batches.lastTs,
  traceCount: batches.traceCount,
  debugCount: batches.debugCount,
  infoCount: batches.infoCount,
  warnCount: batches.warnCount,
  errorCount: batches.errorCount,
  fatalCount: batches.fatalCount,
  keyId: batches.keyId,
  wrappedKey: batches.wrappedKey,
  ciphertext: batches.ciphertext,
  sealFormat: batches.sealFormat,
};

type StoredRow = { [K in keyof typeof storedColumns]: (typeof batches.$inferSelect)[K] };

export function storedFromRow(row: StoredRow): StoredSeal & { meta: BatchMeta } {
  const meta: BatchMeta = {
    deviceId: row.deviceId,
    firstTs: row.firstTs.getTime(),
    lastTs: row.lastTs.getTime(),
    counts: {
      traceCount: row.traceCount,
      debugCount: row.debugCount,
      infoCount: row.infoCount,
      warnCount: row.warnCount,
      errorCount: row.errorCount,
      fatalCount: row.fatalCount,
    },
  };
  return {
    keyId: row.keyId,
    wrappedKey: ownBytes(row.wrappedKey),
    ciphertext: ownBytes(row.ciphertext),
    format: row.sealFormat as SealFormat,
    meta,
  } as StoredSeal & { meta: BatchMeta };
}

/** A driver may hand back a view into a shared buffer; WebCrypto wants exactly these bytes. */
function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}
