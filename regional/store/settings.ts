/**
 * An app's settings (its retention) and what changing them does. A change is kept if it is newer
 * than the one held, by `updatedAt`, then by the longer retention (so two writers deciding in the
 * same millisecond converge on the one that drops less): the rule is the same whether the change
 * comes from the edge, the admin CLI or a peer's control state (control.ts), so every region ends
 * with the same settings whatever order it hears them in.
 *
 * Changing the retention re-files the app's unexpired batches: each gets expires_at = receivedAt +
 * the new retention, which moves it to another partition (a shorter retention deletes at once what
 * is already past it). Shortening thus frees space within the usual bound (partitions.ts), and
 * lengthening never loses a batch that the old retention would still have kept. The cost is paid
 * once per change and grows with the app's stored batches: one UPDATE over them, which PostgreSQL
 * runs as a delete and an insert per row since the row changes partition.
 */
import { and, eq, sql } from "drizzle-orm";
import type { AppSettings } from "../../shared/lifecycle.ts";
import type { Database, Transaction } from "../db/client.ts";
import { apps, batches, devices } from "../db/schema/index.ts";
import { lockAppExclusively, unexpired } from "./expiry.ts";
import { dayMs, dayOf, ensurePartitions } from "./partitions.ts";
import type { BatchStore, SettingsChange, StoreDeps } from "./types.ts";

/** `BatchStore.appSettings`. */
export function appSettings({ db }: StoreDeps): BatchStore["appSettings"] {
  return async (appId) => {
    const [row] = await db.select().from(apps).where(eq(apps.id, appId));
    return row ? toSettings(row) : null;
  };
}

/** `BatchStore.changeAppSettings`: the settings held afterwards, whether or not this change won. */
export function changeAppSettings(deps: StoreDeps): BatchStore["changeAppSettings"] {
  return (appId, change) => applySettings(deps, appId, change);
}

/** Whether `change` wins over what is held: later, or as late and keeping data longer. */
export function settingsWin(change: SettingsChange, held: SettingsChange): boolean {
  return change.updatedAt !== held.updatedAt
    ? change.updatedAt > held.updatedAt
    : change.retentionDays > held.retentionDays;
}

/** Applies one change by the rule above; null when the app is unknown here. */
export async function applySettings(
  { db, clock }: Pick<StoreDeps, "db" | "clock">,
  appId: string,
  change: SettingsChange,
): Promise<AppSettings | null> {
  for (;;) {
    const [current] = await db.select().from(apps).where(eq(apps.id, appId));
    if (!current) return null;
    if (!settingsWin(change, heldOf(current))) return toSettings(current);
    const nowMs = clock.now();
    // The same retention set again (or each region's own creation time) changes no expiry.
    const refile = change.retentionDays !== current.retentionDays;
    if (refile) await ensurePartitions(db, await refileDays(db, appId, change.retentionDays, nowMs));
    const row = await db.transaction(async (tx) => {
      // Writers of the app's batches wait for this lock, then file under the new retention
      // (expiry.ts). Another change may have committed since the read above: decide again then.
      await lockAppExclusively(tx, appId);
      const [locked] = await tx.select().from(apps).where(eq(apps.id, appId));
      if (!locked || !sameSettings(locked, current)) return "again";
      const [updated] = await tx
        .update(apps)
        .set({ retentionDays: change.retentionDays, settingsUpdatedAt: new Date(change.updatedAt) })
        .where(eq(apps.id, appId))
        .returning();
      if (refile) await refileBatches(tx, appId, change.retentionDays, nowMs);
      return updated;
    });
    if (row !== "again") return row ? toSettings(row) : null;
  }
}

/** Files the app's unexpired batches under a new retention (see the header). */
async function refileBatches(tx: Transaction, appId: string, retentionDays: number, nowMs: number): Promise<void> {
  const interval = sql`${retentionDays} * interval '1 day'`;
  const now = sql`${new Date(nowMs).toISOString()}::timestamptz`;
  await tx
    .delete(batches)
    .where(and(eq(batches.appId, appId), unexpired(nowMs), sql`${batches.receivedAt} + ${interval} <= ${now}`));
  await tx
    .update(batches)
    .set({ expiresAt: sql`${batches.receivedAt} + ${interval}` })
    .where(and(eq(batches.appId, appId), unexpired(nowMs)));
  // A device lasts as long as its last batch; one with none left goes at the next lifecycle run.
  await tx
    .update(devices)
    .set({
      expiresAt: sql`coalesce((select max(${batches.expiresAt}) from ${batches}
        where ${batches.appId} = ${devices.appId} and ${batches.deviceId} = ${devices.deviceId}), ${now})`,
    })
    .where(eq(devices.appId, appId));
}

/**
 * The partitions re-filing will move the app's batches into: from the new expiry of its oldest
 * unexpired batch (or today) to that of a batch received now, and one day more for batches being
 * received while this runs. Never more days than the shorter of the two retentions, plus two.
 */
async function refileDays(db: Database, appId: string, retentionDays: number, nowMs: number): Promise<number[]> {
  const [oldest] = await db
    .select({ receivedAt: sql<Date | string | null>`min(${batches.receivedAt})` })
    .from(batches)
    .where(and(eq(batches.appId, appId), unexpired(nowMs)));
  const oldestMs = oldest?.receivedAt ? new Date(oldest.receivedAt).getTime() : nowMs;
  const first = Math.max(dayOf(nowMs), dayOf(oldestMs + retentionDays * dayMs));
  const last = dayOf(nowMs + retentionDays * dayMs) + 1;
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

function sameSettings(a: typeof apps.$inferSelect, b: typeof apps.$inferSelect): boolean {
  return a.retentionDays === b.retentionDays && a.settingsUpdatedAt.getTime() === b.settingsUpdatedAt.getTime();
}

function heldOf(row: typeof apps.$inferSelect): SettingsChange {
  return { retentionDays: row.retentionDays, updatedAt: row.settingsUpdatedAt.getTime() };
}

function toSettings(row: typeof apps.$inferSelect): AppSettings {
  return {
    id: row.id,
    name: row.name,
    retentionDays: row.retentionDays,
    // Never-set settings date from the epoch, so that any change wins over them (see above).
    updatedAt: row.settingsUpdatedAt.getTime() === 0 ? null : row.settingsUpdatedAt.toISOString(),
  };
}
