/**
 * The volume histogram (`BatchStore.volume`): lines per level per time bucket, summed from the
 * clear per-batch metadata (`batches.*_count`, `first_ts`) in one aggregate, without opening a
 * batch. A batch counts whole in the bucket of its first line: its lines are usually seconds
 * apart, and counting whole batches keeps every total exact (the histogram's total is the lines of
 * the batches whose first line is in the window), where spreading a batch over its span would
 * need fractions.
 */
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { levels } from "../../shared/batch.ts";
import type { VolumeAnswer } from "../../shared/console-api.ts";
import type { LevelCounts } from "../../shared/read.ts";
import { batches } from "../db/schema/index.ts";
import { unexpired } from "./expiry.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

const zero = (): LevelCounts => ({ trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 });

/** `BatchStore.volume`. */
export function volume({ db, clock }: StoreDeps): BatchStore["volume"] {
  return async (appId, query) => {
    const bucketMs = Math.max(1, Math.ceil((query.to - query.from) / query.buckets));
    const bucket = sql<number>`floor((extract(epoch from ${batches.firstTs}) * 1000 - ${query.from}) / ${bucketMs})::integer`;
    // float8: postgres.js answers bigint sums as text, PGlite as numbers; both agree on doubles.
    const sums = Object.fromEntries(
      levels.map((level) => [level, sql<number>`sum(${batches[`${level}Count`]})::float8`]),
    ) as Record<(typeof levels)[number], ReturnType<typeof sql<number>>>;
    const rows = await db
      .select({ bucket, ...sums })
      .from(batches)
      .where(
        and(
          eq(batches.appId, appId),
          unexpired(clock.now()),
          query.device === undefined ? undefined : eq(batches.deviceId, query.device),
          gte(batches.firstTs, new Date(query.from)),
          lt(batches.firstTs, new Date(query.to)),
        ),
      )
      .groupBy(sql`1`);
    const buckets = Array.from({ length: query.buckets }, (_, index) => ({
      start: new Date(query.from + index * bucketMs).toISOString(),
      counts: zero(),
    }));
    const total = zero();
    for (const row of rows) {
      const target = buckets[Math.min(Math.max(Number(row.bucket), 0), buckets.length - 1)];
      for (const level of levels) {
        const count = Number(row[level] ?? 0);
        if (target) target.counts[level] += count;
        total[level] += count;
      }
    }
    return {
      from: new Date(query.from).toISOString(),
      to: new Date(query.to).toISOString(),
      bucketMs,
      buckets,
      total,
    } satisfies VolumeAnswer;
  };
}
