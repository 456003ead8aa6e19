/**
 * What PostgreSQL's autovacuum does, done for PGlite. PGlite is PostgreSQL in one process without
 * background workers: it counts what writes change in each table (`pg_stat_user_tables`), but
 * nothing ever acts on the counts. So a region's planner kept the statistics of the empty tables it
 * started with: once an app held 93,000 batches, a search's read of 64 filters chose a bitmap scan
 * and a sort of every batch of the app (1.8 s, in the region's only thread, while its uploads and
 * replicate calls waited) over the index in order (8 ms after ANALYZE). And `devices`, updated with
 * every batch, grew dead rows without bound (7 MB for 200 devices).
 *
 * So a region on PGlite asks every `intervalMs` (a minute, as `autovacuum_naptime`) which tables
 * autovacuum would take, by its own rules and the server's settings, and processes them one at a
 * time:
 * - ANALYZE a table never analyzed, or with more rows changed since its last ANALYZE than
 *   `autovacuum_analyze_threshold` + `autovacuum_analyze_scale_factor` × its rows;
 * - VACUUM a table with more dead rows than `autovacuum_vacuum_threshold` +
 *   `autovacuum_vacuum_scale_factor` × its rows, or whose oldest unfrozen transaction (its TOAST
 *   table's too) is older than `autovacuum_freeze_max_age`: the guard against transaction id
 *   wraparound, which would stop a database that is never vacuumed from taking writes.
 * Unlike autovacuum, a table is not vacuumed for its inserts alone: on a `batches` partition that
 * reads every sealed byte stored since, seconds of the region's only thread; freezing waits for the
 * age rule, which a partition rarely lives to reach.
 *
 * ANALYZE samples 300 × `default_statistics_target` rows: at PostgreSQL's 100 it held a region
 * 370-850 ms on a partition of 93,000 batches, at 10 it took 33-38 ms and the region's reads got
 * the same plans. So it runs at 10 here.
 *
 * On PostgreSQL the server's autovacuum does all this in the background: regions leave it alone.
 * The counts live in memory and are lost when PGlite stops without its shutdown, so after a crash a
 * table is taken again once it has changed enough since.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { backgroundLoop } from "../background-loop.ts";
import { rowsOf } from "../store/partitions.ts";
import type { DatabaseHandle } from "./client.ts";

/** As PostgreSQL's `autovacuum_naptime`. */
export const autovacuumIntervalMs = 60_000;
const statisticsTarget = 10;

export type Maintained = { relation: string; action: "vacuum" | "analyze" | "vacuum, analyze"; ms: number };

/** The tables autovacuum would take now, each with what it would do. */
async function due(database: DatabaseHandle): Promise<{ relation: string; vacuum: boolean; analyze: boolean }[]> {
  const setting = (name: string) => sql.raw(`current_setting('${name}')::float8`);
  const rows = rowsOf<{ relation: string; vacuum: boolean; analyze: boolean }>(
    await database.db.execute(sql`
      select relation, vacuum_due as vacuum, analyze_due as "analyze" from (
        select format('%I.%I', s.schemaname, s.relname) as relation,
          s.n_dead_tup > ${setting("autovacuum_vacuum_threshold")}
              + ${setting("autovacuum_vacuum_scale_factor")} * greatest(c.reltuples, 0)
            or greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0))
              > ${setting("autovacuum_freeze_max_age")} as vacuum_due,
          c.reltuples < 0
            or s.n_mod_since_analyze > ${setting("autovacuum_analyze_threshold")}
              + ${setting("autovacuum_analyze_scale_factor")} * greatest(c.reltuples, 0) as analyze_due
        from pg_stat_user_tables s
        join pg_class c on c.oid = s.relid
        left join pg_class t on t.oid = c.reltoastrelid
        where c.relkind in ('r', 'm')
      ) as tables
      where vacuum_due or analyze_due
      order by relation`),
  );
  return rows;
}

/**
 * One round: every table due, processed in turn, until `signal` aborts (a region that is stopping
 * does not wait for the rest). Nothing on PostgreSQL.
 */
export async function autovacuumOnce(database: DatabaseHandle, signal?: AbortSignal): Promise<Maintained[]> {
  if (database.kind !== "pglite") return [];
  const done: Maintained[] = [];
  // The session's counts reach the shared ones at most once a second, when it is idle: flushed
  // now, as this statement ends, the rules below judge every write made so far.
  await database.db.execute(sql`select pg_stat_force_next_flush()`);
  await database.db.execute(sql.raw(`set default_statistics_target = ${statisticsTarget}`));
  try {
    for (const table of await due(database)) {
      if (signal?.aborted) break;
      const action = table.vacuum && table.analyze ? "vacuum, analyze" : table.vacuum ? "vacuum" : "analyze";
      const command = table.vacuum ? `vacuum${table.analyze ? " (analyze)" : ""}` : "analyze";
      const startedMs = performance.now();
      // `relation` is quoted by format('%I.%I') above.
      await database.db.execute(sql.raw(`${command} ${table.relation}`));
      done.push({ relation: table.relation, action, ms: Math.round(performance.now() - startedMs) });
    }
  } finally {
    await database.db.execute(sql.raw("reset default_statistics_target"));
  }
  return done;
}

export type Autovacuum = { runOnce(): Promise<Maintained[]>; start(): void; stop(): Promise<void> };

/** The loop: at start, then every `intervalMs` (background-loop.ts); on PostgreSQL it never starts. */
export function createAutovacuum(options: {
  database: DatabaseHandle;
  logger: Logger;
  intervalMs?: number;
}): Autovacuum {
  const { database, logger } = options;
  let stopping = new AbortController();
  const runOnce = () => autovacuumOnce(database, stopping.signal);
  const loop = backgroundLoop({
    intervalMs: options.intervalMs ?? autovacuumIntervalMs,
    step: async () => {
      const done = await runOnce();
      if (done.length > 0) logger.debug({ tables: done }, "autovacuum");
    },
    onError: (error) => logger.warn({ err: error }, "autovacuum failed; retrying next interval"),
  });
  return {
    runOnce,
    start() {
      if (database.kind !== "pglite") return;
      if (stopping.signal.aborted) stopping = new AbortController();
      loop.start();
    },
    async stop() {
      stopping.abort();
      await loop.stop();
    },
  };
}
