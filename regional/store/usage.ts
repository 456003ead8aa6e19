/**
 * `BatchStore.usage`: what an app keeps, per UTC day of receipt (batches, lines, stored bytes, and
 * the day retention removes the last of them), from clear columns only and unexpired batches only,
 * so a team sees both what it stores and what its retention will free. One aggregate over the
 * app's rows in the window (the `batches_app_received_at_idx` index).
 */
import { and, eq, gte, lt, sql } from "drizzle-orm";
import type { UsageAnswer, UsageDay } from "../../shared/lifecycle.ts";
import { batches } from "../db/schema/index.ts";
import { retentionDaysOf, unexpired } from "./expiry.ts";
import { dayMs, dayOf } from "./partitions.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

export function usage({ db, clock }: StoreDeps): BatchStore["usage"] {
  return async (appId, query) => {
    const nowMs = clock.now();
    const retentionDays = await retentionDaysOf(db, appId);
    // Nothing received before today minus the retention is kept, unless a longer one is in force
    // for older batches; the default window is the retention's.
    const fromDay = query.from === undefined ? dayOf(nowMs) - retentionDays : dayOf(Date.parse(query.from));
    const toDay = query.to === undefined ? dayOf(nowMs) : dayOf(Date.parse(query.to));
    const day = sql<string>`to_char(${batches.receivedAt} at time zone 'UTC', 'YYYY-MM-DD')`;
    const rows = await db
      .select({
        day,
        // float8: postgres.js answers bigint sums as text, PGlite as numbers; both agree on doubles.
        batches: sql<number>`count(*)::float8`,
        lines: sql<number>`sum(${batches.lineCount})::float8`,
        storedBytes: sql<number>`sum(${batches.storedBytes})::float8`,
        expiresOn: sql<string>`to_char(max(${batches.expiresAt}) at time zone 'UTC', 'YYYY-MM-DD')`,
      })
      .from(batches)
      .where(
        and(
          eq(batches.appId, appId),
          unexpired(nowMs),
          gte(batches.receivedAt, new Date(fromDay * dayMs)),
          lt(batches.receivedAt, new Date((toDay + 1) * dayMs)),
        ),
      )
      .groupBy(day)
      .orderBy(day);
    const days: UsageDay[] = rows.map((row) => ({
      day: row.day,
      batches: Number(row.batches),
      lines: Number(row.lines),
      storedBytes: Number(row.storedBytes),
      expiresOn: row.expiresOn,
    }));
    const totals = { batches: 0, lines: 0, storedBytes: 0 };
    for (const row of days) {
      totals.batches += row.batches;
      totals.lines += row.lines;
      totals.storedBytes += row.storedBytes;
    }
    return { retentionDays, days, totals } satisfies UsageAnswer;
  };
}
