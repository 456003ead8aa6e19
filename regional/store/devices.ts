/** The devices list of an app, most recently active first. */
import { desc, eq } from "drizzle-orm";
import type { DeviceRecord } from "../../shared/read.ts";
import type { Database } from "../db/client.ts";
import { devices } from "../db/schema/index.ts";

/** One answer stays bounded; the most recently active devices are the ones worth showing. */
const devicesListMax = 1000;

export async function listDevices(db: Database, appId: string): Promise<DeviceRecord[]> {
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
}
