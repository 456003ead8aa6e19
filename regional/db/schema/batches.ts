/**
 * Stored batches: the log lines sealed as one envelope (shared/envelope.ts), plus what a read
 * needs in clear to pick candidate batches without opening them: device, time span and line
 * counts per level, all bound into the seal so none can be altered unnoticed. Nothing derived from
 * line content beyond these is kept in clear.
 *
 * The table is partitioned by `expires_at`, one partition per UTC day (migration 0004 creates it
 * with `PARTITION BY RANGE`, which drizzle cannot declare; store/partitions.ts creates and drops the
 * partitions), so expiring a day is dropping one table. A primary key must hold the partition key,
 * so the batch id is unique per app only by how put-batch.ts and replica.ts insert (under an
 * advisory lock on the id, after looking it up in every partition).
 */
import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgTable, primaryKey, smallint, text } from "drizzle-orm/pg-core";
import { bytea, timestampMs } from "./columns.ts";

export const batches = pgTable(
  "batches",
  {
    appId: text("app_id").notNull(),
    batchId: text("batch_id").notNull(),
    deviceId: text("device_id").notNull(),
    receivedAt: timestampMs("received_at").notNull(),
    /**
     * The region that accepted the batch from the edge. Only batches a region is the origin of
     * enter its outbox, so a replica is never forwarded again; with receivedAt it also names the
     * version, which decides between two versions of one batch id (see store/replica.ts).
     * Rows from before replication existed have "" (an unknown origin, which sorts first).
     */
    origin: text("origin").notNull().default(""),
    firstTs: timestampMs("first_ts").notNull(),
    lastTs: timestampMs("last_ts").notNull(),
    lineCount: integer("line_count").notNull(),
    traceCount: integer("trace_count").notNull(),
    debugCount: integer("debug_count").notNull(),
    infoCount: integer("info_count").notNull(),
    warnCount: integer("warn_count").notNull(),
    errorCount: integer("error_count").notNull(),
    fatalCount: integer("fatal_count").notNull(),
    /**
     * Which seal format the envelope uses (regional/store/codec.ts): 2 binds the device, time
     * span and level counts above into the seal; 1, from before, bound only the ids.
     */
    sealFormat: smallint("seal_format").notNull().default(1),
    /**
     * The PostgreSQL transaction that stored this version here: this region's arrival order, which
     * the live tail follows (store/tail.ts). Unlike a sequence, it tells a reader which rows can
     * still appear below it: none under the oldest transaction still running (store/horizon.ts).
     */
    txid: bigint("txid", { mode: "bigint" }).notNull().default(sql`pg_current_xact_id()::text::bigint`),
    /**
     * Set (to the storing transaction's id) on a batch this region accepted and its peers are owed
     * by sequence: replication's high-water marks (replication-marks.ts) run over it. Null on
     * replicas, and on a batch queued in the outbox at once instead.
     */
    originSeq: bigint("origin_seq", { mode: "bigint" }),
    keyId: text("key_id").notNull(),
    wrappedKey: bytea("wrapped_key").notNull(),
    ciphertext: bytea("ciphertext").notNull(),
    /**
     * When the batch stops being readable: receivedAt (the origin's, so every region agrees) plus
     * the app's retention. Every read filters on it; the partition it falls in is dropped after.
     */
    expiresAt: timestampMs("expires_at").notNull(),
    /**
     * The batch's search filter (store/search-filter.ts): keyed hashes of its text's trigrams,
     * which let a text search skip it unopened. Null for batches stored before filters existed,
     * which every search opens.
     */
    searchFilter: bytea("search_filter"),
    /** The wrapped key and ciphertext length: what the batch takes on disk, for usage. */
    storedBytes: integer("stored_bytes").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.batchId, table.expiresAt] }),
    index("batches_app_first_ts_idx").on(table.appId, table.firstTs, table.batchId),
    index("batches_app_received_at_idx").on(table.appId, table.receivedAt),
    index("batches_app_device_first_ts_idx").on(table.appId, table.deviceId, table.firstTs, table.batchId),
    // Descending reads walk batches by their last line (store/log-scan.ts).
    index("batches_app_last_ts_idx").on(table.appId, table.lastTs, table.batchId),
    index("batches_app_device_last_ts_idx").on(table.appId, table.deviceId, table.lastTs, table.batchId),
    index("batches_app_txid_idx").on(table.appId, table.txid, table.batchId),
    index("batches_origin_seq_idx").on(table.originSeq).where(sql`${table.originSeq} is not null`),
    check("batches_span_check", sql`${table.firstTs} <= ${table.lastTs}`),
  ],
);
