/**
 * `BatchStore.expire`: one run of the region's lifecycle (regional/lifecycle.ts runs it at boot and
 * every `STORMLOG_LIFECYCLE_INTERVAL_MS`). It creates the partitions the apps' retentions will need
 * before the next run, drops every partition whose day has passed, and deletes the device rows
 * whose last batch has expired, and the issue occurrences (issues.ts) whose batch is gone: a
 * group keeps its counts and times, its links go with the lines they pointed at.
 *
 * The bound: a batch is unreadable from the moment its expires_at passes (every read filters on
 * it), and physically gone when its day's partition is dropped, by the first run after that day
 * ends: within one day plus one interval of expiring.
 */
import { lte, sql } from "drizzle-orm";
import { retentionDaysDefault } from "../../shared/lifecycle.ts";
import { apps, batches, devices, issueOccurrences } from "../db/schema/index.ts";
import { dayMs, dayOf, dropExpiredPartitions, ensurePartitions } from "./partitions.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

export function expire({ db, clock }: StoreDeps): BatchStore["expire"] {
  return async (aheadMs) => {
    const nowMs = clock.now();
    const retentions = await db.selectDistinct({ days: apps.retentionDays }).from(apps);
    // A batch received between now and the next run (plus a day's margin) expires on one of these.
    const ahead = new Set<number>();
    for (const days of new Set([retentionDaysDefault, ...retentions.map((row) => row.days)])) {
      for (let day = dayOf(nowMs + days * dayMs); day <= dayOf(nowMs + aheadMs + days * dayMs) + 1; day++) {
        ahead.add(day);
      }
    }
    await ensurePartitions(db, ahead);
    const dropped = await dropExpiredPartitions(db, nowMs);
    const gone = await db
      .delete(devices)
      .where(lte(devices.expiresAt, new Date(nowMs)))
      .returning({ deviceId: devices.deviceId });
    if (dropped.length > 0) {
      await db.execute(
        sql`delete from ${issueOccurrences} o where not exists (select 1 from ${batches} b where b.app_id = o.app_id and b.batch_id = o.batch_id)`,
      );
    }
    return { partitionsDropped: dropped.length, devicesDeleted: gone.length };
  };
}
