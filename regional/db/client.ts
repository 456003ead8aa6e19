/**
 * Opens the region's database and brings its schema up to date.
 *
 * One schema, two drivers: PGlite (embedded Postgres in a data folder, the default) or
 * PostgreSQL through postgres.js when a URL is given. Both yield drizzle's `PgDatabase`, so the
 * store code is the same for either. Migrations are the ones drizzle-kit generated from
 * ./schema, applied by drizzle's migrator before the region serves anything.
 */
import { mkdirSync } from "node:fs";
import { setImmediate as loopTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  PGlite,
  type Transaction as PGliteTransaction,
  parse,
  protocol,
  type QueryOptions,
  type Results,
  types,
} from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { concatBytes } from "../../shared/encoding.ts";
import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** What `db.transaction` hands its callback: statements that commit or roll back together. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DatabaseKind = "pglite" | "postgres";

export type DatabaseHandle<S extends Record<string, unknown> = Schema> = {
  db: PgDatabase<PgQueryResultHKT, S>;
  kind: DatabaseKind;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
};

export type DatabaseOptions = { databaseUrl: string | undefined; dataDir: string };

/** Resolved from this file, not the working directory, so the service starts from anywhere. */
const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return openMigrated(options, schema, migrationsFolder);
}

/**
 * Any of the region's databases (this one, and the key store, regional/keystore/), opened the
 * same way and migrated from its own folder.
 */
export async function openMigrated<S extends Record<string, unknown>>(
  options: DatabaseOptions,
  schema: S,
  migrationsFolder: string,
): Promise<DatabaseHandle<S>> {
  return options.databaseUrl === undefined
    ? openPglite(options.dataDir, schema, migrationsFolder)
    : openPostgres(options.databaseUrl, schema, migrationsFolder);
}

async function openPglite<S extends Record<string, unknown>>(
  dataDir: string,
  schema: S,
  migrationsFolder: string,
): Promise<DatabaseHandle<S>> {
  mkdirSync(dataDir, { recursive: true });
  // Bytes go to PGlite as bytes: its default serializer would hex-encode every bytea parameter,
  // which makes storing a batch several times slower. (The option's type says string; PGlite
  // passes a Uint8Array through as binary.)
  const client = new PGliteForDrizzle(dataDir, {
    serializers: { [types.BYTEA]: (bytes: Uint8Array) => bytes as never },
    parsers: drizzleParsers,
  });
  try {
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder });
    return handle(db, "pglite", () => client.close());
  } catch (error) {
    if (!client.closed) await client.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The type parsers drizzle gives PGlite with every query (drizzle-orm/pglite/session.js: timestamps,
 * dates and intervals, and their arrays, as the text PostgreSQL sends; drizzle maps them itself).
 * PGlite merges per-query parsers into its whole table of them for each query, about a tenth of a
 * region's CPU on the write path (profiled), so the client is given them once, at construction,
 * and `PGliteForDrizzle` leaves them off each query: the same parsing, without the merge.
 */
const text = (value: string) => value;
const drizzleParsers = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map((oid) => [
    oid,
    text,
  ]),
);

function withoutParsers(options?: QueryOptions): QueryOptions | undefined {
  if (!options?.parsers) return options;
  for (const oid of Object.keys(options.parsers)) {
    // Parsers other than the ones given at construction are kept, merge and all.
    if (!(oid in drizzleParsers)) return options;
  }
  const { parsers: _, ...rest } = options;
  return rest;
}

/** Options the kept statements do not handle (drizzle passes neither), left to PGlite's own path. */
function ownPath(options?: QueryOptions): boolean {
  return options?.blob !== undefined || options?.paramTypes !== undefined;
}

/**
 * PGlite for drizzle: the parsers given once (above), and each statement parsed once. PGlite's own
 * `query` parses, describes, binds, describes and executes every statement anew, a call into the
 * WASM module each: a third of a trivial query's cost, and the planning of every run besides. Here
 * a statement is parsed once and kept by name, as PostgreSQL's drivers keep prepared statements,
 * and each run is one call (bind, describe, execute, sync); PostgreSQL plans it by its usual rule for
 * prepared statements (custom plans first, then a generic one where that is no worse). The least
 * recently used statement beyond `statementsMax` is closed.
 *
 * PGlite runs a statement in this thread and settles its promise at once, so a chain of statements
 * awaited one after another (a search's page of filter reads, an anti-entropy pass) ran as one
 * task: no timer, no socket, no other request got a turn until it ended. One search over a large
 * app held a region for its whole second, and the uploads and replicate calls waiting on it timed
 * out (503 QUORUM_UNAVAILABLE). So a statement that would start more than `sliceMs` after the event
 * loop's last turn gives it a turn first, outside the mutexes, where other work can also claim the
 * database. Not within a transaction: it holds the database while it waits, and a region's
 * transactions (a commit group, a replicate call) take a few milliseconds.
 */
class PGliteForDrizzle extends PGlite {
  static readonly statementsMax = 500;
  static readonly sliceMs = 10;
  /** Statement text → its name and parameter types, least recently used first. */
  readonly #statements = new Map<string, { name: string; types: number[] }>();
  #named = 0;
  /** When the event loop last got to its check phase, as a marker scheduled there saw it. */
  #turnAtMs = performance.now();
  #turnMarked = false;

  async #giveTurnIfDue(): Promise<void> {
    if (!this.#turnMarked) {
      this.#turnMarked = true;
      setImmediate(() => {
        this.#turnMarked = false;
        this.#turnAtMs = performance.now();
      });
    }
    if (performance.now() - this.#turnAtMs >= PGliteForDrizzle.sliceMs) await loopTurn();
  }

  override async query<T>(query: string, params: unknown[] = [], options?: QueryOptions): Promise<Results<T>> {
    await this.#giveTurnIfDue();
    if (ownPath(options)) return super.query<T>(query, params, withoutParsers(options));
    await this._checkReady();
    // As PGlite's own: a query outside a transaction waits for any transaction to end.
    return this._runExclusiveTransaction(() => this.#run<T>(query, params, withoutParsers(options)));
  }

  override transaction<T>(callback: (tx: PGliteTransaction) => Promise<T>) {
    return super.transaction<T>((tx) =>
      callback(
        new Proxy(tx, {
          get: (target, property, receiver) =>
            property === "query"
              ? (query: string, params: unknown[] = [], options?: QueryOptions) =>
                  ownPath(options)
                    ? target.query(query, params, withoutParsers(options))
                    : this.#run(query, params, withoutParsers(options))
              : Reflect.get(target, property, receiver),
        }),
      ),
    );
  }

  #run<T>(query: string, params: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return this._runExclusiveQuery(async () => {
      const statement = await this.#statement(query);
      const values = params.map((param, index) => {
        if (param === null || param === undefined) return null;
        const oid = statement.types[index] as number;
        const serialize = options?.serializers?.[oid] ?? this.serializers[oid];
        return serialize ? serialize(param) : String(param);
      });
      let messages: Awaited<ReturnType<PGlite["execProtocolStream"]>>;
      try {
        messages = await this.execProtocolStream(
          concatBytes([
            protocol.serialize.bind({ statement: statement.name, values: values as string[] }),
            protocol.serialize.describe({ type: "P" }),
            protocol.serialize.execute({}),
            protocol.serialize.sync(),
          ]),
          { syncToFs: false },
        );
      } catch (error) {
        // A table changed under the statement so that its rows would look different: parse it anew
        // next time (PostgreSQL refuses to run it again as it is).
        if ((error as { routine?: string }).routine === "RevalidateCachedQuery") await this.#close(query);
        throw error;
      }
      return parse.parseResults(messages, this.parsers, options)[0] as Results<T>;
    });
  }

  async #statement(query: string): Promise<{ name: string; types: number[] }> {
    const known = this.#statements.get(query);
    if (known) {
      this.#statements.delete(query);
      this.#statements.set(query, known);
      return known;
    }
    const name = `s${++this.#named}`;
    const described = await this.execProtocolStream(
      concatBytes([
        protocol.serialize.parse({ name, text: query }),
        protocol.serialize.describe({ type: "S", name }),
        protocol.serialize.sync(),
      ]),
      { syncToFs: false },
    );
    const statement = { name, types: parse.parseDescribeStatementResults(described) };
    this.#statements.set(query, statement);
    if (this.#statements.size > PGliteForDrizzle.statementsMax) {
      await this.#close(this.#statements.keys().next().value as string);
    }
    return statement;
  }

  async #close(query: string): Promise<void> {
    const statement = this.#statements.get(query);
    if (!statement) return;
    this.#statements.delete(query);
    await this.execProtocolStream(
      concatBytes([protocol.serialize.close({ type: "S", name: statement.name }), protocol.serialize.sync()]),
      { syncToFs: false },
    );
  }
}

async function openPostgres<S extends Record<string, unknown>>(
  url: string,
  schema: S,
  migrationsFolder: string,
): Promise<DatabaseHandle<S>> {
  // Notices ("relation already exists, skipping") are noise for a service log. JIT compilation is
  // off: a region's statements are short, and the planner's guesses over a month of partitions
  // (every one empty but today's, without statistics yet) reach JIT's cost thresholds. The
  // health probe's replication backlog, 4 ms of work on 3,000 batches, spent 1.6 s compiling
  // on every probe, and the probes piling up took every core.
  const client = preparing(postgres(url, { onnotice: () => undefined, max: 10, connection: { jit: "off" } }));
  try {
    const db = drizzlePostgres({ client, schema });
    await migratePostgres(db, { migrationsFolder });
    return handle(db, "postgres", () => client.end({ timeout: 5 }));
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
}

/**
 * postgres.js as drizzle should drive it: each statement with parameters prepared once per
 * connection (postgres.js names and keeps it by text and parameter types), as PGlite's statements
 * are above. Drizzle runs every statement through `unsafe`, which postgres.js leaves unnamed: each
 * then took two round trips (describe, then execute) and a parse and plan in the backend, every
 * time, which made a commit group's transaction eight round trips instead of five. Statements
 * without parameters (migrations, DDL) still go by the simple protocol. A transaction's or
 * savepoint's connection is wrapped the same way, since drizzle runs their statements on it.
 */
function preparing(client: postgres.Sql): postgres.Sql {
  const inScope =
    (name: "begin" | "savepoint") =>
    (...args: unknown[]) => {
      const callback = args.pop() as (sql: postgres.Sql) => unknown;
      const method = Reflect.get(client, name) as (...args: unknown[]) => unknown;
      return method(...args, (sql: postgres.Sql) => callback(preparing(sql)));
    };
  const own: Record<PropertyKey, unknown> = {
    unsafe: (query: string, parameters: postgres.ParameterOrJSON<never>[] = [], options = {}) =>
      client.unsafe(query, parameters, { ...options, prepare: true }),
    begin: inScope("begin"),
    savepoint: inScope("savepoint"),
  };
  return new Proxy(client, {
    get: (target, property, receiver) =>
      Object.hasOwn(own, property) ? own[property] : Reflect.get(target, property, receiver),
  });
}

function handle<S extends Record<string, unknown>>(
  db: PgDatabase<PgQueryResultHKT, S>,
  kind: DatabaseKind,
  close: () => Promise<void>,
): DatabaseHandle<S> {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    async ping() {
      try {
        await db.execute(sql`select 1`);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
