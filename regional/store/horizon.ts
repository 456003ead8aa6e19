/**
 * The transaction horizon of this database: no row can still appear here with a txid below it.
 * The replication marks (marks.ts) and the live tail (tail.ts) deliver only what is below it, so
 * a transaction that commits late is never skipped.
 *
 * `pg_snapshot_xmin` would be that, but transaction ids and snapshots belong to the server, not
 * the database: a write transaction open in any other database of the same server (another
 * application's, a session idle in a transaction, a test beside this one) would hold every mark
 * and the tail here until it ended. So the horizon is the snapshot's xmax, lowered to the oldest
 * transaction still running that is not known to be another database's. `pg_stat_activity` names
 * each backend's database and transaction id (the low 32 bits of the snapshot's 64-bit ids; no two
 * running transactions share them). A running transaction it cannot place (ended since the
 * snapshot, prepared, hidden from this role) counts as this database's, which only delays.
 *
 * The snapshot leaves out the reading transaction's own id: none of the readers writes batches.
 */
import { sql } from "drizzle-orm";

/** The horizon, as a bigint-valued SQL expression. */
export const horizonSql = sql`(select least(
    pg_snapshot_xmax(snap.s),
    (select min(running) from pg_snapshot_xip(snap.s) as running
      where not exists (
        select 1 from pg_stat_activity as backend
        where backend.datname <> current_database()
          and backend.backend_xid::text::bigint = running::text::bigint % 4294967296))
  )::text::bigint from (select pg_current_snapshot() as s) as snap)`;
