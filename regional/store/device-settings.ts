/**
 * Remote logging control's rows (shared/device-settings.ts): per app, per app version, per device.
 * A change is kept if it wins over the row held by `settingWins` (later, then a fixed order), the
 * same rule whether it comes from the edge, the admin CLI or a peer's control state (control.ts),
 * so every region ends with the same rows whatever order it hears them in. The rule runs inside
 * the upsert, so two changes racing in one region need no lock.
 */
import { eq, sql } from "drizzle-orm";
import type { StoredDeviceSetting } from "../../shared/device-settings.ts";
import type { Database } from "../db/client.ts";
import { apps, deviceSettings } from "../db/schema/index.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

/** `BatchStore.deviceSettings`. */
export function listDeviceSettings({ db }: StoreDeps): BatchStore["deviceSettings"] {
  return async (appId) => {
    const [app] = await db.select({ id: apps.id }).from(apps).where(eq(apps.id, appId));
    if (!app) return null;
    const rows = await db.select().from(deviceSettings).where(eq(deviceSettings.appId, appId));
    return rows.map(toStored);
  };
}

/** `BatchStore.changeDeviceSetting`: the row held afterwards, whether or not this change won. */
export function changeDeviceSetting({ db }: StoreDeps): BatchStore["changeDeviceSetting"] {
  return async (appId, change) => {
    const [app] = await db.select({ id: apps.id }).from(apps).where(eq(apps.id, appId));
    if (!app) return null;
    return applyDeviceSettings(db, appId, [change]).then(async () => {
      const [row] = await db
        .select()
        .from(deviceSettings)
        .where(
          sql`${deviceSettings.appId} = ${appId} and ${deviceSettings.scope} = ${change.scope} and ${deviceSettings.value} = ${change.value}`,
        );
      return row ? toStored(row) : null;
    });
  };
}

/** Upserts each change where it wins over the row held (the rule of `settingWins`, in SQL). */
export async function applyDeviceSettings(
  db: Pick<Database, "insert">,
  appId: string,
  changes: readonly StoredDeviceSetting[],
): Promise<void> {
  if (changes.length === 0) return;
  await db
    .insert(deviceSettings)
    .values(changes.map((change) => ({ appId, ...change, updatedAt: new Date(change.updatedAt) })))
    .onConflictDoUpdate({
      target: [deviceSettings.appId, deviceSettings.scope, deviceSettings.value],
      set: {
        enabled: sql`excluded.enabled`,
        minLevel: sql`excluded.min_level`,
        updatedAt: sql`excluded.updated_at`,
      },
      setWhere: sql`excluded.updated_at > ${deviceSettings.updatedAt}
        or (excluded.updated_at = ${deviceSettings.updatedAt} and excluded.enabled and not ${deviceSettings.enabled})
        or (excluded.updated_at = ${deviceSettings.updatedAt} and excluded.enabled = ${deviceSettings.enabled}
          and excluded.min_level < ${deviceSettings.minLevel})`,
    });
}

export function toStored(row: typeof deviceSettings.$inferSelect): StoredDeviceSetting {
  return {
    scope: row.scope,
    value: row.value,
    enabled: row.enabled,
    minLevel: row.minLevel,
    updatedAt: row.updatedAt.getTime(),
  };
}
