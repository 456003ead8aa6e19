/**
 * One page of an app's log lines, in time order, from batches sealed one by one.
 *
 * Batches are picked by what is stored in clear (device, time span, lines per level), in order
 * of their first line, and opened one at a time. Their spans overlap, so lines wait in a heap and
 * one is emitted only when no batch still unopened can hold an earlier line, that is when its
 * time is before the next batch's first line. A page opens at most `batchesScannedMax` batches
 * and `storedBytesOpenedMax` sealed bytes past its start (shared/limits.ts), so one read's work is
 * bounded however large the batches; when it stops at either, its cursor says "everything before
 * that batch is done", so the next page goes on from there. A batch that does not open is
 * reported, not returned.
 */
import { and, asc, eq, gt, gte, lt, or, type SQL, sql } from "drizzle-orm";
import { type LogLine, levelRank, levels } from "../../shared/batch.ts";
import { comparePositions, decodeCursor, encodeCursor, type LogPosition, positionBefore } from "../../shared/cursor.ts";
import { limits } from "../../shared/limits.ts";
import type { IntegrityError, LogRecord } from "../../shared/read.ts";
import { err, ok } from "../../shared/result.ts";
import type { Database } from "../db/client.ts";
import { batches } from "../db/schema/index.ts";
import { storedColumns, storedFromRow } from "./batch-row.ts";
import { MinHeap } from "./line-heap.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

const batchesPerQuery = 16;

/** Per-level line counts, in level order: a batch is a candidate if it counts any line at or above the minimum. */
const levelCounts = levels.map((level) => batches[`${level}Count`]);

type Pending = { position: LogPosition; record: LogRecord };

/** `BatchStore.readLogs`. */
export function readLogs({
  db,
  codec,
  batchesScannedMax = limits.readBatchesOpenedMax,
  storedBytesOpenedMax = limits.readStoredBytesOpenedMax,
}: StoreDeps): BatchStore["readLogs"] {
  return async (appId, query) => {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (after === null) return err({ kind: "bad_cursor", message: "cursor: not a cursor this API returned" });
    const minRank = query.level === undefined ? 0 : levelRank(query.level);
    const needle = query.q?.toLowerCase();
    // No line before this time can be on the page.
    const startTs = Math.max(query.from ?? Number.NEGATIVE_INFINITY, after?.ts ?? Number.NEGATIVE_INFINITY);

    const wanted = (line: LogLine, position: LogPosition): boolean =>
      line.ts >= startTs &&
      (query.to === undefined || line.ts < query.to) &&
      (after === undefined || comparePositions(position, after) > 0) &&
      levelRank(line.level) >= minRank &&
      (needle === undefined || line.text.toLowerCase().includes(needle));

    const pending = new MinHeap<Pending>((a, b) => comparePositions(a.position, b.position));
    const logs: LogRecord[] = [];
    const integrityErrors: IntegrityError[] = [];
    let lastEmitted: LogPosition | undefined;
    const emitBefore = (boundaryTs: number) => {
      for (let top = pending.peek(); top && top.position.ts < boundaryTs && logs.length < query.limit; ) {
        pending.pop();
        logs.push(top.record);
        lastEmitted = top.position;
        top = pending.peek();
      }
    };

    let scanned = 0;
    let openedBytes = 0;
    let stoppedBefore: number | undefined;
    let full = false;
    const candidates = candidateBatches(db, appId, { device: query.device, startTs, toTs: query.to, minRank });
    for await (const row of candidates) {
      const firstTs = row.firstTs.getTime();
      emitBefore(firstTs);
      if (logs.length === query.limit) {
        full = true;
        break;
      }
      // Batches that reach back over the start must all be read, or a page could make no progress.
      if ((scanned >= batchesScannedMax || openedBytes >= storedBytesOpenedMax) && firstTs > startTs) {
        stoppedBefore = firstTs;
        break;
      }
      scanned += 1;
      openedBytes += row.ciphertext.byteLength + row.wrappedKey.byteLength;
      const opened = await codec.open(appId, row.batchId, storedFromRow(row));
      if (!opened.ok) {
        integrityErrors.push({ batchId: row.batchId, code: "INTEGRITY", message: opened.error.message });
        continue;
      }
      opened.value.logs.forEach((line, index) => {
        const position = { ts: line.ts, batchId: row.batchId, index };
        if (wanted(line, position))
          pending.push({ position, record: toRecord(line, row.deviceId, row.batchId, index) });
      });
    }

    let next: LogPosition | null;
    if (full) next = lastEmitted ?? null;
    else if (stoppedBefore !== undefined) next = positionBefore(stoppedBefore);
    else {
      emitBefore(Number.POSITIVE_INFINITY);
      next = pending.size > 0 ? (lastEmitted ?? null) : null;
    }
    return ok({ logs, nextCursor: next && encodeCursor(next), prevCursor: null, integrityErrors });
  };
}

type CandidateFilter = { device: string | undefined; startTs: number; toTs: number | undefined; minRank: number };

/** Batches that may hold wanted lines, by first line time, fetched a few at a time. */
async function* candidateBatches(db: Database, appId: string, filter: CandidateFilter) {
  const conditions: (SQL | undefined)[] = [
    eq(batches.appId, appId),
    filter.device === undefined ? undefined : eq(batches.deviceId, filter.device),
    Number.isFinite(filter.startTs) ? gte(batches.lastTs, new Date(filter.startTs)) : undefined,
    filter.toTs === undefined ? undefined : lt(batches.firstTs, new Date(filter.toTs)),
    filter.minRank === 0 ? undefined : sql`(${sql.join(levelCounts.slice(filter.minRank), sql` + `)}) > 0`,
  ];
  let afterKey: { firstTs: Date; batchId: string } | undefined;
  for (;;) {
    const rows = await db
      .select({ batchId: batches.batchId, ...storedColumns })
      .from(batches)
      .where(
        and(
          ...conditions,
          afterKey &&
            or(
              gt(batches.firstTs, afterKey.firstTs),
              and(eq(batches.firstTs, afterKey.firstTs), gt(batches.batchId, afterKey.batchId)),
            ),
        ),
      )
      .orderBy(asc(batches.firstTs), asc(batches.batchId))
      .limit(batchesPerQuery);
    yield* rows;
    const last = rows.at(-1);
    if (!last || rows.length < batchesPerQuery) return;
    afterKey = { firstTs: last.firstTs, batchId: last.batchId };
  }
}

function toRecord(line: LogLine, deviceId: string, batchId: string, index: number): LogRecord {
  const { ts, ...rest } = line;
  return { ts: new Date(ts).toISOString(), deviceId, batchId, index, ...rest };
}
