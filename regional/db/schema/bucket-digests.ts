/**
 * What this region holds, summarized per app, hour of receipt and day of expiry, kept up to date
 * by row triggers on `batches` (migration 0007) in the transaction of every change, whatever writes
 * it: each row is a count and two 64-bit halves of an XOR over MD5(`batchId:origin:receivedAt`) of
 * the batches it adds (count +1) or removes (count -1). XOR needs no order and undoes itself, so
 * a bucket's digest is the XOR and sum of its rows, however many: triggers only append (no row is
 * updated in place, so concurrent writers never wait on one another here) and a read folds the
 * rows of a bucket into one (store/digests.ts). The day of expiry is the `batches` partition the
 * rows are in, so dropping a partition drops its digest rows with it (store/partitions.ts).
 */
import { bigint, index, integer, pgTable, smallint, text } from "drizzle-orm/pg-core";

export const bucketDigests = pgTable(
  "bucket_digests",
  {
    appId: text("app_id").notNull(),
    /** Hours since the epoch of receivedAt (the origin's), as anti-entropy's buckets count them. */
    hour: integer("hour").notNull(),
    /**
     * The minute of that hour (0-59) for rows of the last two hours, so anti-entropy can compare
     * the hour still running minute by minute; -1 once a read folded an older hour's rows into one.
     */
    minute: smallint("minute").notNull().default(-1),
    /** Days since the epoch of expires_at: the partition (store/partitions.ts `dayOf`). */
    expiresDay: integer("expires_day").notNull(),
    batches: integer("batches").notNull(),
    hashHigh: bigint("hash_high", { mode: "bigint" }).notNull(),
    hashLow: bigint("hash_low", { mode: "bigint" }).notNull(),
  },
  (table) => [index("bucket_digests_bucket_idx").on(table.appId, table.hour, table.expiresDay)],
);
