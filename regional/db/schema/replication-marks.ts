/**
 * How far each peer has confirmed the batches this region accepted and tracks by origin sequence
 * (`batches.origin_seq`): every such batch with a sequence below `seq` is held by the peer, or was
 * handed to the outbox (the late list) to be sent with backoff. The replication worker advances it
 * (regional/store/marks.ts), so the upload path writes nothing per batch for replication: its
 * confirmations stay in memory until the next advance, and a crash only means they are sent again.
 */
import { bigint, pgTable, text } from "drizzle-orm/pg-core";

export const replicationMarks = pgTable("replication_marks", {
  peer: text("peer").primaryKey(),
  seq: bigint("seq", { mode: "bigint" }).notNull(),
});
