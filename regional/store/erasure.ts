/**
 * Applying an erasure in this region: of one device of an app, or (deviceId null) of the whole app.
 *
 *   1. record it in the key store: the tombstone every later write checks (put-batch.ts,
 *      replica.ts, control.ts);
 *   2. destroy the keys it covers (regional/keystore/): from here on every copy of the batches
 *      sealed under them, in any region, outbox or backup of the batch data, is unreadable;
 *   3. delete the rows: the device's batches received before the request or sealed under a
 *      destroyed key, their outbox rows, its own remote logging setting, and the device row with
 *      its clear metadata (recomputed from what remains, if the device uploaded after the request); for an app, all of its
 *      batches, devices and outbox rows, its app row, and its API keys revoked;
 *   4. mark it completed here.
 *
 * Every step is idempotent, so the region applies every known erasure again at boot (region.ts):
 * a batch data folder restored from before an erasure is cleaned before it serves anything.
 */
import { and, eq, inArray, isNull, lt, max, min, or, sql, sum } from "drizzle-orm";
import { deviceInfo } from "../../shared/batch.ts";
import type { Erasure, RegionErasure } from "../../shared/lifecycle.ts";
import { apiKeys, apps, batches, deviceSettings, devices, outbox } from "../db/schema/index.ts";
import { storedColumns, storedFromRow } from "./batch-row.ts";
import { eraseAppIssues, eraseIssues } from "./issues.ts";
import type { StoreDeps } from "./types.ts";

/**
 * Applies an erasure here (again, if it was already) and answers its state here. The erasure
 * applied is the one first recorded under its id; an id already naming another app's erasure is
 * refused (null), so no caller learns or replays another app's erasure by guessing its id.
 */
export function applyErasure(deps: StoreDeps): (erasure: Erasure) => Promise<RegionErasure | null> {
  const { db, keystore, clock } = deps;
  return async (sent) => {
    const { completedAt: _completedAt, ...erasure } = await keystore.record(sent);
    if (erasure.appId !== sent.appId) return null;
    const destroyed = await keystore.destroyKeys(erasure);
    if (erasure.deviceId === null) await deleteApp(erasure.appId);
    else await deleteDevice(erasure.appId, erasure.deviceId, new Date(erasure.requestedAt), destroyed);
    await keystore.complete(erasure.id, clock.now());
    const state = await keystore.find(erasure.appId, erasure.id);
    if (!state) throw new Error(`erasure ${erasure.id} was recorded but is not in the key store`);
    return state;
  };

  async function deleteApp(appId: string) {
    await db.transaction(async (tx) => {
      await tx.delete(outbox).where(eq(outbox.appId, appId));
      await tx.delete(batches).where(eq(batches.appId, appId));
      await tx.delete(devices).where(eq(devices.appId, appId));
      await tx.delete(deviceSettings).where(eq(deviceSettings.appId, appId));
      await eraseAppIssues(tx, appId);
      await tx
        .update(apiKeys)
        .set({ revokedAt: new Date(clock.now()) })
        .where(and(eq(apiKeys.appId, appId), isNull(apiKeys.revokedAt)));
      await tx.delete(apps).where(eq(apps.id, appId));
    });
  }

  async function deleteDevice(appId: string, deviceId: string, before: Date, destroyed: string[]) {
    const ofDevice = and(eq(batches.appId, appId), eq(batches.deviceId, deviceId));
    await db.transaction(async (tx) => {
      const gone = await tx
        .delete(batches)
        .where(
          and(
            ofDevice,
            // Sealed under a destroyed key: accepted after the request by a region that had not
            // learned of it yet. Unreadable now, so deleted too (erased more, never less).
            or(lt(batches.receivedAt, before), destroyed.length > 0 ? inArray(batches.keyId, destroyed) : undefined),
          ),
        )
        .returning({ batchId: batches.batchId });
      for (let at = 0; at < gone.length; at += 500) {
        const ids = gone.slice(at, at + 500).map((row) => row.batchId);
        await tx.delete(outbox).where(and(eq(outbox.appId, appId), inArray(outbox.batchId, ids)));
      }
      // The device's own remote logging setting names it: set before the request, it goes too.
      await tx
        .delete(deviceSettings)
        .where(
          and(
            eq(deviceSettings.appId, appId),
            eq(deviceSettings.scope, "device"),
            eq(deviceSettings.value, deviceId),
            lt(deviceSettings.updatedAt, before),
          ),
        );
      await eraseIssues(
        tx,
        appId,
        deviceId,
        gone.map((row) => row.batchId),
      );
      await tx.delete(devices).where(and(eq(devices.appId, appId), eq(devices.deviceId, deviceId)));
    });
    await rebuildDevice(appId, deviceId);
  }

  /**
   * The device row again from the batches it sent after the request, if any: times and counts from
   * their clear metadata, its info (name, model…) from the latest one, which is opened for it.
   */
  async function rebuildDevice(appId: string, deviceId: string) {
    const ofDevice = and(eq(batches.appId, appId), eq(batches.deviceId, deviceId));
    const [totals] = await db
      .select({
        batches: sql<number>`count(*)::int`,
        firstTs: min(batches.firstTs),
        lastTs: max(batches.lastTs),
        expiresAt: max(batches.expiresAt),
        spanMs: sql<number>`coalesce(max(extract(epoch from (${batches.lastTs} - ${batches.firstTs})) * 1000), 0)::int`,
        traceCount: sum(batches.traceCount).mapWith(Number),
        debugCount: sum(batches.debugCount).mapWith(Number),
        infoCount: sum(batches.infoCount).mapWith(Number),
        warnCount: sum(batches.warnCount).mapWith(Number),
        errorCount: sum(batches.errorCount).mapWith(Number),
        fatalCount: sum(batches.fatalCount).mapWith(Number),
      })
      .from(batches)
      .where(ofDevice);
    if (!totals || totals.batches === 0 || !totals.firstTs || !totals.lastTs || !totals.expiresAt) return;
    const [latest] = await db
      .select({ batchId: batches.batchId, ...storedColumns })
      .from(batches)
      .where(ofDevice)
      .orderBy(sql`${batches.lastTs} desc`)
      .limit(1);
    const opened = latest ? await deps.codec.open(appId, latest.batchId, storedFromRow(latest)) : null;
    const info = opened?.ok ? deviceInfo(opened.value.device) : {};
    const { batches: _count, spanMs, firstTs, lastTs, expiresAt, ...counts } = totals;
    await db
      .insert(devices)
      .values({
        appId,
        deviceId,
        ...info,
        ...counts,
        firstSeen: firstTs,
        lastSeen: lastTs,
        expiresAt,
        batchSpanMsMax: spanMs,
      })
      .onConflictDoNothing();
  }
}
