/**
 * Throwaway PostgreSQL databases for a bench's `--db postgres` runs, on the server at DATABASE_URL
 * (default the local one, trust auth): created with a random suffix, dropped (forcing out any
 * connection left) when the bench ends, whatever happened.
 */
import postgres from "postgres";
import { randomBytes, toHex } from "../shared/encoding.ts";

export const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A unique database name starting with `prefix` (letters, digits and `_` only). */
export function scratchName(prefix: string): string {
  return `${prefix}_${toHex(randomBytes(4))}`;
}

/** Creates the database `name`; its URL. */
export async function createScratchDatabase(name: string): Promise<string> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropScratchDatabases(names: string[]): Promise<void> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  try {
    for (const name of names) await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}
