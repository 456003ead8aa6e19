/** Direct looks at the tables, for tests that check what was (not) stored. */
import { count, eq } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { batches, devices } from "../db/schema/index.ts";

export async function storedCounts(db: Database, appId: string): Promise<{ batches: number; devices: number }> {
  const [batchRows] = await db.select({ n: count() }).from(batches).where(eq(batches.appId, appId));
  const [deviceRows] = await db.select({ n: count() }).from(devices).where(eq(devices.appId, appId));
  return { batches: batchRows?.n ?? 0, devices: deviceRows?.n ?? 0 };
}
