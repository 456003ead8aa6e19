/**
 * A database as an older version left it, for migration tests: the migrations before `tag` applied
 * to `database`, then `seed` (SQL) run on it; `openDatabase` then applies the rest, as an upgrade
 * does.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { TestDatabase } from "./harness.ts";

const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

/** @example await seedBefore(database, "0004", "insert into apps (id, name) values ('…', 'old');") */
export async function seedBefore(database: TestDatabase, tag: string, seed: string): Promise<void> {
  const folder = mkdtempSync(path.join(tmpdir(), "stormlog-migrations-"));
  try {
    cpSync(migrations, folder, { recursive: true });
    const journalPath = path.join(folder, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
    journal.entries = journal.entries.filter((entry) => entry.tag < tag);
    writeFileSync(journalPath, JSON.stringify(journal));
    if (database.kind === "pglite") {
      const client = new PGlite(database.dataDir);
      await migratePglite(drizzlePglite({ client }), { migrationsFolder: folder });
      await client.exec(seed);
      await client.close();
    } else {
      const client = postgres(database.databaseUrl as string, { max: 1, onnotice: () => undefined });
      await migratePostgres(drizzlePostgres({ client }), { migrationsFolder: folder });
      await client.unsafe(seed);
      await client.end();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
