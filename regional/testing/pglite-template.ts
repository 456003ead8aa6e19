/**
 * Migrated PGlite folders for tests, as copies. A fresh PGlite folder costs its initdb and every
 * migration, some 8 s and 10 s of CPU on a 2-core machine, and a region opens two (data and key
 * store): most of the regional and cross-tier tests' time went there. A copy of a closed, migrated
 * pair costs a tenth of a second, and the region opening it still runs the migrator, as every
 * restart does. The pair is made once per `vitest run` by the global setup below, which names it
 * to the test processes in `STORMLOG_TEST_PGLITE_TEMPLATE`; a process started otherwise makes its
 * own and removes it when it exits.
 */
import { rmSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateKeyMaterial, Keyring } from "../../shared/envelope.ts";
import { keystoreDirBeside } from "../config.ts";
import { openDatabase } from "../db/client.ts";
import { openKeystore } from "../keystore/keystore.ts";

const templateVariable = "STORMLOG_TEST_PGLITE_TEMPLATE";

let template: Promise<string> | undefined;

async function makePair(): Promise<string> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "stormlog-pglite-template-"));
  const database = await openDatabase({ databaseUrl: undefined, dataDir });
  await database.close();
  const keyring = await Keyring.fromConfig({ active: "k1", keys: { k1: generateKeyMaterial() } });
  const keystore = await openKeystore({ databaseUrl: undefined, dataDir: keystoreDirBeside(dataDir) }, keyring);
  await keystore.close();
  return dataDir;
}

function migratedPair(): Promise<string> {
  const shared = process.env[templateVariable];
  template ??= shared
    ? Promise.resolve(shared)
    : makePair().then((dataDir) => {
        process.once("exit", () => {
          rmSync(dataDir, { recursive: true, force: true });
          rmSync(keystoreDirBeside(dataDir), { recursive: true, force: true });
        });
        return dataDir;
      });
  return template;
}

/** Fills `dataDir` and `keystoreDir` (empty or missing) with a migrated database and key store. */
export async function copyMigratedPglite(dataDir: string, keystoreDir: string): Promise<void> {
  const from = await migratedPair();
  await cp(from, dataDir, { recursive: true });
  await cp(keystoreDirBeside(from), keystoreDir, { recursive: true });
}

/**
 * Vitest global setup (regional/ and test/ projects): one pair for the whole run. Test workers are
 * started after global setups, with this process's environment. The first project's setup makes
 * it, and removes it once every project has run.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[templateVariable]) return undefined;
  const dataDir = await makePair();
  process.env[templateVariable] = dataDir;
  return async () => {
    delete process.env[templateVariable];
    await rm(dataDir, { recursive: true, force: true });
    await rm(keystoreDirBeside(dataDir), { recursive: true, force: true });
  };
}
