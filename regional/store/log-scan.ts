/**
 * One run over an app's lines in time order, ascending or descending, from batches sealed one by
 * one: what read-logs.ts builds pages from.
 *
 * Batches are picked by what is stored in clear (device, time span, lines per level): ascending in
 * order of their first line, descending in order of their last, and opened one at a time. Their
 * spans overlap, so lines wait in a heap and one is emitted only when no batch still unopened can
 * hold a line before it: ascending, when its time is before the next batch's first line. A run
 * opens at most `batchesScannedMax` batches and `storedBytesOpenedMax` sealed bytes, so one read's
 * work is bounded however large the batches; when it stops at either, its end position says
 * "everything up to that batch is done". A batch that does not open is reported, not returned.
 *
 * Keyset, so a deep page costs what a first page does: a batch with a line at or after the start
 * has its last line there, and its first line at most the device's widest batch span before it
 * (`devices.batch_span_ms_max`, kept at write time), so the candidates are one index range
 * `first_ts >= start - span` (descending: `last_ts <= end + span`), not every batch before.
 */
import { and, asc, desc, eq, gt, gte, lt, lte, or, type SQL, sql } from "drizzle-orm";
import { type Level, type LogLine, levels } from "../../shared/batch.ts";
import { comparePositions, type LogPosition, type Order, positionBefore } from "../../shared/cursor.ts";
import type { IntegrityError, LogRecord } from "../../shared/read.ts";
import type { Database } from "../db/client.ts";
import { batches, devices } from "../db/schema/index.ts";
import { storedColumns, storedFromRow } from "./batch-row.ts";
import { unexpired } from "./expiry.ts";
import { MinHeap } from "./line-heap.ts";
import type { StoreDeps } from "./types.ts";

const batchesPerQuery = 16;

/** Which lines a run wants; `after` is exclusive, in the run's order. */
export type Scan = {
  order: Order;
  after: LogPosition | undefined;
  limit: number;
  device?: string;
  from?: number;
  to?: number;
  /** The levels wanted (already the intersection of `level` and `levels`); never empty. */
  levels: readonly Level[];
  tag?: string;
  q?: string;
};

export type ScanResult = {
  logs: LogRecord[];
  next: LogPosition | null;
  integrityErrors: IntegrityError[];
  /** Batches whose keys an erasure destroyed: skipped, and said so, but never an integrity error. */
  erasedBatches: string[];
};

type Pending = { position: LogPosition; record: LogRecord };

export async function scanLines(
  {
    db,
    codec,
    clock,
    batchesScannedMax,
    storedBytesOpenedMax,
  }: Required<Omit<StoreDeps, "clock" | "metrics">> & Pick<StoreDeps, "clock">,
  appId: string,
  scan: Scan,
): Promise<ScanResult> {
  const asc = scan.order === "asc";
  // Run order: negative when a comes first.
  const compare = asc ? comparePositions : (a: LogPosition, b: LogPosition) => comparePositions(b, a);
  const needle = scan.q?.toLowerCase();
  // Lines in [lowTs, highTs] may be on the page: the filters' window narrowed by the cursor (a
  // descending cursor between line times, `(ts, "", -1)`, leaves the lines before ts).
  const lowTs = Math.max(scan.from ?? Number.NEGATIVE_INFINITY, asc ? (scan.after?.ts ?? -Infinity) : -Infinity);
  const highTs = Math.min(
    scan.to === undefined ? Number.POSITIVE_INFINITY : scan.to - 1,
    asc || !scan.after ? Number.POSITIVE_INFINITY : scan.after.ts - (scan.after.batchId === "" ? 1 : 0),
  );
  const wanted = (line: LogLine, position: LogPosition): boolean =>
    line.ts >= lowTs &&
    line.ts <= highTs &&
    (scan.after === undefined || compare(position, scan.after) > 0) &&
    scan.levels.includes(line.level) &&
    (scan.tag === undefined || line.tag === scan.tag) &&
    (needle === undefined || line.text.toLowerCase().includes(needle));
  // A line is safe to emit once the next batch (by first line ascending, last line descending) cannot hold one before it.
  const beforeBoundary = (ts: number, boundaryTs: number) => (asc ? ts < boundaryTs : ts > boundaryTs);

  const pending = new MinHeap<Pending>((a, b) => compare(a.position, b.position));
  const logs: LogRecord[] = [];
  const integrityErrors: IntegrityError[] = [];
  const erasedBatches: string[] = [];
  let lastEmitted: LogPosition | undefined;
  const emitBefore = (boundaryTs: number) => {
    for (let top = pending.peek(); top && beforeBoundary(top.position.ts, boundaryTs) && logs.length < scan.limit; ) {
      pending.pop();
      logs.push(top.record);
      lastEmitted = top.position;
      top = pending.peek();
    }
  };

  let scanned = 0;
  let openedBytes = 0;
  let stoppedAt: number | undefined;
  let full = false;
  for await (const row of candidateBatches(db, appId, { scan, lowTs, highTs, nowMs: clock.now() })) {
    const boundaryTs = (asc ? row.firstTs : row.lastTs).getTime();
    emitBefore(boundaryTs);
    if (logs.length === scan.limit) {
      full = true;
      break;
    }
    // Batches that reach back over the start must all be read, or a page could make no progress.
    const reachesStart = asc ? boundaryTs <= lowTs : boundaryTs >= highTs;
    if ((scanned >= batchesScannedMax || openedBytes >= storedBytesOpenedMax) && !reachesStart) {
      stoppedAt = boundaryTs;
      break;
    }
    scanned += 1;
    openedBytes += row.ciphertext.byteLength + row.wrappedKey.byteLength;
    const opened = await codec.open(appId, row.batchId, storedFromRow(row));
    if (!opened.ok) {
      if (opened.error.cause === "erased") erasedBatches.push(row.batchId);
      else integrityErrors.push({ batchId: row.batchId, code: "INTEGRITY", message: opened.error.message });
      continue;
    }
    opened.value.logs.forEach((line, index) => {
      const position = { ts: line.ts, batchId: row.batchId, index };
      if (wanted(line, position)) pending.push({ position, record: toRecord(line, row.deviceId, row.batchId, index) });
    });
  }

  let next: LogPosition | null;
  if (full) next = lastEmitted ?? null;
  // Everything strictly past the unopened batch's boundary time is done; lines at that time are not.
  else if (stoppedAt !== undefined) next = asc ? positionBefore(stoppedAt) : positionBefore(stoppedAt + 1);
  else {
    emitBefore(asc ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY);
    next = pending.size > 0 ? (lastEmitted ?? null) : null;
  }
  return { logs, next, integrityErrors, erasedBatches };
}

/**
 * The widest span of one batch of the device (or of any device of the app), kept at write time,
 * as an interval. A subquery of the candidates' own statement, so it reads the same snapshot: a
 * batch and the widened span its transaction wrote are both seen or neither.
 */
function widestSpan(appId: string, device: string | undefined): SQL {
  const where = and(eq(devices.appId, appId), device === undefined ? undefined : eq(devices.deviceId, device));
  return sql`((select coalesce(max(${devices.batchSpanMsMax}), 0) from ${devices} where ${where}) * interval '1 millisecond')`;
}

type CandidateFilter = { scan: Scan; lowTs: number; highTs: number; nowMs: number };

/** Batches that may hold wanted lines, in run order, fetched a few at a time by keyset. */
async function* candidateBatches(db: Database, appId: string, { scan, lowTs, highTs, nowMs }: CandidateFilter) {
  const ascending = scan.order === "asc";
  const date = (ms: number) => new Date(ms);
  const finite = Number.isFinite;
  const levelCounts = scan.levels.map((level) => batches[`${level}Count`]);
  const conditions: (SQL | undefined)[] = [
    eq(batches.appId, appId),
    unexpired(nowMs),
    scan.device === undefined ? undefined : eq(batches.deviceId, scan.device),
    finite(lowTs) ? gte(batches.lastTs, date(lowTs)) : undefined,
    finite(highTs) ? lte(batches.firstTs, date(highTs)) : undefined,
    // The keyset bound: the index range this run walks starts here, not at the app's first batch.
    ascending && finite(lowTs)
      ? sql`${batches.firstTs} >= ${date(lowTs).toISOString()}::timestamptz - ${widestSpan(appId, scan.device)}`
      : undefined,
    !ascending && finite(highTs)
      ? sql`${batches.lastTs} <= ${date(highTs).toISOString()}::timestamptz + ${widestSpan(appId, scan.device)}`
      : undefined,
    levelCounts.length === levels.length ? undefined : sql`(${sql.join(levelCounts, sql` + `)}) > 0`,
  ];
  const key = ascending ? batches.firstTs : batches.lastTs;
  const past = ascending ? gt : lt;
  const direction = ascending ? asc : desc;
  let afterKey: { ts: Date; batchId: string } | undefined;
  for (;;) {
    const rows = await db
      .select({ batchId: batches.batchId, ...storedColumns })
      .from(batches)
      .where(
        and(
          ...conditions,
          afterKey && or(past(key, afterKey.ts), and(eq(key, afterKey.ts), past(batches.batchId, afterKey.batchId))),
        ),
      )
      .orderBy(direction(key), direction(batches.batchId))
      .limit(batchesPerQuery);
    yield* rows;
    const last = rows.at(-1);
    if (!last || rows.length < batchesPerQuery) return;
    afterKey = { ts: ascending ? last.firstTs : last.lastTs, batchId: last.batchId };
  }
}

export function toRecord(line: LogLine, deviceId: string, batchId: string, index: number): LogRecord {
  const { ts, ...rest } = line;
  return { ts: new Date(ts).toISOString(), deviceId, batchId, index, ...rest };
}
