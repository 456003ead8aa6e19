/**
 * Control-plane state (apps, their settings, key hashes, revocations, erasures) as anti-entropy
 * exchanges it. The admin CLI writes every region, but a region that was down then misses the
 * write; pulling each peer's state and merging it closes that gap. Merging only adds: unknown apps
 * and keys are inserted, and a revocation is kept with the earliest time any region recorded, so
 * revocations always win. Erasures win the same way: an unknown one is applied here (erasure.ts),
 * and nothing of an erased app (its row, its keys) is added back, whoever still sends it. An app's
 * settings are merged by their own rule, the latest change wins (settings.ts), and so are its remote
 * logging settings (device-settings.ts).
 */
import { sql } from "drizzle-orm";
import type { StoredDeviceSetting } from "../../shared/device-settings.ts";
import { apiKeys, apps, deviceSettings } from "../db/schema/index.ts";
import { applyDeviceSettings, toStored } from "./device-settings.ts";
import { applyErasure } from "./erasure.ts";
import { applySettings } from "./settings.ts";
import type { ReplicaStore, StoreDeps } from "./types.ts";

/** `ReplicaStore.exportControl`. */
export function exportControl({ db, keystore }: StoreDeps): ReplicaStore["exportControl"] {
  return async () => {
    const appRows = await db.select().from(apps);
    const keyRows = await db.select().from(apiKeys);
    const settingRows = await db.select().from(deviceSettings);
    const erasures = await keystore.list();
    return {
      erasures: erasures.map(({ completedAt: _here, ...erasure }) => erasure),
      apps: appRows.map((row) => ({
        id: row.id,
        name: row.name,
        createdAt: row.createdAt.getTime(),
        retentionDays: row.retentionDays,
        settingsUpdatedAt: row.settingsUpdatedAt.getTime(),
      })),
      keys: keyRows.map((row) => ({
        hash: row.hash,
        appId: row.appId,
        kind: row.kind,
        label: row.label,
        createdAt: row.createdAt.getTime(),
        revokedAt: row.revokedAt?.getTime() ?? null,
      })),
      deviceSettings: settingRows.map((row) => ({ appId: row.appId, ...toStored(row) })),
    };
  };
}

/** `ReplicaStore.mergeControl`. */
export function mergeControl(deps: StoreDeps): ReplicaStore["mergeControl"] {
  const { db, keystore, clock } = deps;
  const apply = applyErasure(deps);
  return async (state) => {
    const known = new Set((await keystore.list()).map((erasure) => erasure.id));
    for (const erasure of state.erasures) if (!known.has(erasure.id)) await apply(erasure);
    const erasedApps = new Set(
      (await keystore.list()).filter((erasure) => erasure.deviceId === null).map((erasure) => erasure.appId),
    );
    const liveApps = state.apps.filter((app) => !erasedApps.has(app.id));
    const liveKeys = state.keys.filter((key) => !erasedApps.has(key.appId));
    await db.transaction(async (tx) => {
      if (liveApps.length > 0) {
        await tx
          .insert(apps)
          .values(
            // New here with the default settings: the merge below then applies the peer's, and
            // re-files any replica that arrived before the app did (filed under the default).
            liveApps.map((app) => ({ id: app.id, name: app.name, createdAt: new Date(app.createdAt) })),
          )
          .onConflictDoNothing();
      }
      if (liveKeys.length > 0) {
        await tx
          .insert(apiKeys)
          .values(
            liveKeys.map((key) => ({
              ...key,
              createdAt: new Date(key.createdAt),
              revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt),
            })),
          )
          .onConflictDoUpdate({
            target: apiKeys.hash,
            set: {
              revokedAt: sql`case when ${apiKeys.revokedAt} is null then excluded.revoked_at
                when excluded.revoked_at is null then ${apiKeys.revokedAt}
                else least(${apiKeys.revokedAt}, excluded.revoked_at) end`,
            },
          });
      }
    });
    // Only for apps known here (and not erased), so a setting never outlives its app.
    const knownApps = new Set((await db.select({ id: apps.id }).from(apps)).map((row) => row.id));
    const bySetting = new Map<string, StoredDeviceSetting[]>();
    for (const { appId, ...setting } of state.deviceSettings) {
      if (!knownApps.has(appId) || erasedApps.has(appId)) continue;
      // A device's own setting from before its erasure is gone here: a peer that still holds it
      // does not bring it back (tombstones win, as for batches).
      if (setting.scope === "device") {
        const erasure = await keystore.covering(appId, setting.value);
        if (erasure && setting.updatedAt < Date.parse(erasure.requestedAt)) continue;
      }
      bySetting.set(appId, [...(bySetting.get(appId) ?? []), setting]);
    }
    for (const [appId, settings] of bySetting) await applyDeviceSettings(db, appId, settings);
    for (const app of liveApps) {
      await applySettings({ db, clock }, app.id, {
        retentionDays: app.retentionDays,
        updatedAt: app.settingsUpdatedAt,
      });
    }
  };
}
