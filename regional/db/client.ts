/**
 * Opens the region's database and brings its schema up to date.
 *
 * One schema, two drivers: PGlite (embedded Postgres in a data folder, the default) or
 * PostgreSQL through postgres.js when a URL is given. Both yield drizzle's `PgDatabase`, so the
 * store code is the same for either. Migrations are the ones drizzle-kit generated from
 * ./schema, applied by drizzle's migrator before the region serves anything.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PGlite, type Transaction as PGliteTransaction, type QueryOptions, types } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
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

class PGliteForDrizzle extends PGlite {
  override query<T>(query: string, params?: unknown[], options?: QueryOptions) {
    return super.query<T>(query, params, withoutParsers(options));
  }
  override transaction<T>(callback: (tx: PGliteTransaction) => Promise<T>) {
    return super.transaction<T>((tx) =>
      callback(
        new Proxy(tx, {
          get: (target, property, receiver) =>
            property === "query"
              ? (query: string, params?: unknown[], options?: QueryOptions) =>
                  target.query(query, params, withoutParsers(options))
              : Reflect.get(target, property, receiver),
        }),
      ),
    );
  }
}

async function openPostgres<S extends Record<string, unknown>>(
  url: string,
  schema: S,
  migrationsFolder: string,
): Promise<DatabaseHandle<S>> {
  // Notices ("relation already exists, skipping") are noise for a service log.
  const client = postgres(url, { onnotice: () => undefined, max: 10 });
  try {
    const db = drizzlePostgres({ client, schema });
    await migratePostgres(db, { migrationsFolder });
    return handle(db, "postgres", () => client.end({ timeout: 5 }));
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
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
