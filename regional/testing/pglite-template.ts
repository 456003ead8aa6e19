/**
 * Migrated PGlite folders for tests, as copies. A fresh PGlite folder costs its initdb and every
 * migration, some 6 s of CPU on a 2-core machine, and a region opens two (data and key store):
 * most of the regional and cross-tier tests' time went there. A copy of a closed, migrated pair
 * costs a tenth of a second, and the region opening it still runs the migrator, as every restart
 * does. The pair is made once per test process and removed when it exits.
 */
import { rmSync } from "node:fs";
import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateKeyMaterial, Keyring } from "../../shared/envelope.ts";
import { keystoreDirBeside } from "../config.ts";
import { openDatabase } from "../db/client.ts";
import { openKeystore } from "../keystore/keystore.ts";

let template: Promise<string> | undefined;

function migratedPair(): Promise<string> {
  template ??= (async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "stormlog-pglite-template-"));
    process.once("exit", () => {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(keystoreDirBeside(dataDir), { recursive: true, force: true });
    });
    const database = await openDatabase({ databaseUrl: undefined, dataDir });
    await database.close();
    const keyring = await Keyring.fromConfig({ active: "k1", keys: { k1: generateKeyMaterial() } });
    const keystore = await openKeystore({ databaseUrl: undefined, dataDir: keystoreDirBeside(dataDir) }, keyring);
    await keystore.close();
    return dataDir;
  })();
  return template;
}

/** Fills `dataDir` and `keystoreDir` (empty or missing) with a migrated database and key store. */
export async function copyMigratedPglite(dataDir: string, keystoreDir: string): Promise<void> {
  const from = await migratedPair();
  await cp(from, dataDir, { recursive: true });
  await cp(keystoreDirBeside(from), keystoreDir, { recursive: true });
}
