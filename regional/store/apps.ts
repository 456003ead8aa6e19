/**
 * Apps and their key hashes, as the admin CLI registers them in every region, and revocations,
 * which the edge polls; reads the edge forwards look their read key up here (read-key.ts). Small
 * tables, simple statements; each upsert is safe to repeat. Anti-entropy copies the same rows
 * between regions (control.ts).
 */
import { asc, eq, isNotNull, sql } from "drizzle-orm";
import { apiKeys, apps } from "../db/schema/index.ts";
import type { AppRecord, BatchStore, KeyRecord, StoreDeps } from "./types.ts";

/** `BatchStore.upsertApp`. */
export function upsertApp({ db }: StoreDeps): BatchStore["upsertApp"] {
  return ({ id, name, keys }) =>
    db.transaction(async (tx) => {
      const [row] = await tx
        .insert(apps)
        .values({ id, name })
        .onConflictDoUpdate({ target: apps.id, set: { name } })
        .returning();
      if (keys.length > 0) {
        await tx
          .insert(apiKeys)
          .values(keys.map((key) => ({ ...key, appId: id })))
          .onConflictDoNothing();
      }
      return toAppRecord(row as typeof apps.$inferSelect);
    });
}

/** `BatchStore.listApps`. */
export function listApps({ db }: StoreDeps): BatchStore["listApps"] {
  return async () => {
    const rows = await db.select().from(apps).orderBy(asc(apps.createdAt), asc(apps.id));
    return rows.map(toAppRecord);
  };
}

/** `BatchStore.appKeys`. */
export function appKeys({ db }: StoreDeps): BatchStore["appKeys"] {
  return async (appId) => {
    const [app] = await db.select({ id: apps.id }).from(apps).where(eq(apps.id, appId));
    if (!app) return null;
    const rows = await db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.appId, appId))
      .orderBy(asc(apiKeys.createdAt), asc(apiKeys.hash));
    return rows.map(toKeyRecord);
  };
}

/** `BatchStore.addKey`. */
export function addKey({ db }: StoreDeps): BatchStore["addKey"] {
  return (appId, key) =>
    db.transaction(async (tx) => {
      const [app] = await tx.select({ id: apps.id }).from(apps).where(eq(apps.id, appId));
      if (!app) return null;
      await tx
        .insert(apiKeys)
        .values({ ...key, appId })
        .onConflictDoNothing();
      const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.hash, key.hash));
      return toKeyRecord(row as typeof apiKeys.$inferSelect);
    });
}

/** `BatchStore.keyByHash`. */
export function keyByHash({ db }: StoreDeps): BatchStore["keyByHash"] {
  return async (hash) => {
    const [row] = await db
      .select({ appId: apiKeys.appId, kind: apiKeys.kind, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.hash, hash));
    return row ? { appId: row.appId, kind: row.kind, revoked: row.revokedAt !== null } : null;
  };
}

/** `BatchStore.revokeKey`. */
export function revokeKey({ db, clock }: StoreDeps): BatchStore["revokeKey"] {
  return async (key) => {
    const revokedAt = new Date(clock.now());
    await db
      .insert(apiKeys)
      .values({ ...key, revokedAt })
      // The first revocation time stands; revoking again changes nothing.
      .onConflictDoUpdate({
        target: apiKeys.hash,
        set: { revokedAt: sql`coalesce(${apiKeys.revokedAt}, excluded.revoked_at)` },
      });
  };
}

/** `BatchStore.revokedKeyHashes`. */
export function revokedKeyHashes({ db }: StoreDeps): BatchStore["revokedKeyHashes"] {
  return async () => {
    const rows = await db
      .select({ hash: apiKeys.hash })
      .from(apiKeys)
      .where(isNotNull(apiKeys.revokedAt))
      .orderBy(asc(apiKeys.hash));
    return rows.map((row) => row.hash);
  };
}

function toAppRecord(row: typeof apps.$inferSelect): AppRecord {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString(), retentionDays: row.retentionDays };
}

function toKeyRecord(row: typeof apiKeys.$inferSelect): KeyRecord {
  return {
    hash: row.hash,
    kind: row.kind,
    label: row.label,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
