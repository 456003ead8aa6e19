/**
 * Device rows: one per app and device id, kept up to date by every batch written (by the upload
 * path, put-batch.ts, and by replicas, replica.ts, in the batch's own transaction), and listed
 * for the routes most recently active first.
 */
import { desc, eq, sql } from "drizzle-orm";
import type { Device } from "../../shared/batch.ts";
import type { Transaction } from "../db/client.ts";
import { devices } from "../db/schema/index.ts";
import type { BatchMeta } from "./codec.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

/** One answer stays bounded; the most recently active devices are the ones worth showing. */
const devicesListMax = 1000;

/** `BatchStore.devices`. */
export function listDevices({ db }: StoreDeps): BatchStore["devices"] {
  return async (appId) => {
    const rows = await db
      .select()
      .from(devices)
      .where(eq(devices.appId, appId))
      .orderBy(desc(devices.lastSeen), devices.deviceId)
      .limit(devicesListMax);
    return rows.map((row) => ({
      id: row.deviceId,
      name: row.name,
      model: row.model,
      os: row.os,
      osVersion: row.osVersion,
      appVersion: row.appVersion,
      appBuild: row.appBuild,
      locale: row.locale,
      firstSeen: row.firstSeen.toISOString(),
      lastSeen: row.lastSeen.toISOString(),
    }));
  };
}

/**
 * A device's span comes from line times, not arrival times, so every region that stores the same
 * batches holds the same device rows. Its info is the one sent with its latest lines.
 */
export async function upsertDevice(tx: Transaction, appId: string, device: Device, span: BatchMeta): Promise<void> {
  const info = {
    name: device.name ?? null,
    model: device.model ?? null,
    os: device.os ?? null,
    osVersion: device.osVersion ?? null,
    appVersion: device.appVersion ?? null,
    appBuild: device.appBuild ?? null,
    locale: device.locale ?? null,
  };
  const newer = sql`excluded.last_seen >= ${devices.lastSeen}`;
  const latest = (column: (typeof devices)[keyof typeof info]) =>
    sql`case when ${newer} then excluded.${sql.identifier(column.name)} else ${column} end`;
  await tx
    .insert(devices)
    .values({
      appId,
      deviceId: device.id,
      ...info,
      firstSeen: new Date(span.firstTs),
      lastSeen: new Date(span.lastTs),
    })
    .onConflictDoUpdate({
      target: [devices.appId, devices.deviceId],
      set: {
        name: latest(devices.name),
        model: latest(devices.model),
        os: latest(devices.os),
        osVersion: latest(devices.osVersion),
        appVersion: latest(devices.appVersion),
        appBuild: latest(devices.appBuild),
        locale: latest(devices.locale),
        firstSeen: sql`least(${devices.firstSeen}, excluded.first_seen)`,
        lastSeen: sql`greatest(${devices.lastSeen}, excluded.last_seen)`,
      },
    });
}
