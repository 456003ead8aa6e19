/**
 * Batches this region accepted from the edge and still owes a peer, late: one row per (peer,
 * batch), handed over by the peer's mark (store/marks.ts) when unconfirmed after its sender's
 * lease, or written with the batch by a caller that does not send it; deleted once the peer
 * confirms it holds it.
 * Rows never expire; `nextAttemptAt` carries both the backoff after a failure and the lease a
 * sender takes while a call is in flight, so several processes on one database share the work.
 */
import { index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { timestampMs } from "./columns.ts";

export const outbox = pgTable(
  "outbox",
  {
    peer: text("peer").notNull(),
    appId: text("app_id").notNull(),
    batchId: text("batch_id").notNull(),
    createdAt: timestampMs("created_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestampMs("next_attempt_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.peer, table.appId, table.batchId] }),
    index("outbox_peer_next_attempt_idx").on(table.peer, table.nextAttemptAt),
  ],
);
