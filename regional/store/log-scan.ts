/**
 * One run over an app's lines in time order, ascending or descending, from batches sealed one by
 * one: what read-logs.ts builds pages from.
 *
 * Batches are picked by what is stored in clear (device, time span, lines per level): ascending in
 * order of their first line, descending in order of their last, and opened one at a time. Their
 * spans overlap, so lines wait in a heap and one is emitted only when no batch still unopened can
 * hold a line before it: ascending, when its time is before the next batch's first line. A run
 * opens at most `batchesScannedMax` batches and `storedBytesOpenedMax` sealed bytes, and spends at
 * most `pageMsMax`, so one read's work is bounded however large the batches and however slow the
 * disk; when it stops at any of these, its end position says "everything up to that batch is
 * done". A batch that does not open is reported, not returned.
 *
 * Keyset, so a deep page costs what a first page does: a batch with a line at or after the start
 * has its last line there, and its first line at most the device's widest batch span before it
 * (`devices.batch_span_ms_max`, kept at write time), so the candidates are one index range
 * `first_ts >= start - span` (descending: `last_ts <= end + span`), not every batch before.
 *
 * A text search (`q`) opens only the batches whose search filter (search-filter.ts) does not rule
 * the query out; the lines it opens are still matched against the text itself. While filters rule
 * out most batches it reads them alone, many at a time, and the rows of the rest after. Passing
 * over a ruled-out batch is bounded too (`batchesFilteredMax`).
 */
import { and, asc, desc, eq, gte, inArray, lte, type SQL, sql } from "drizzle-orm";
import { type Level, type LogLine, levels } from "../../shared/batch.ts";
import { comparePositions, type LogPosition, type Order, positionBefore } from "../../shared/cursor.ts";
import type { IntegrityError, LogRecord } from "../../shared/read.ts";
import type { Database } from "../db/client.ts";
import { batches, devices } from "../db/schema/index.ts";
import { storedColumns, storedFromRow } from "./batch-row.ts";
import { unexpired } from "./expiry.ts";
import { MinHeap } from "./line-heap.ts";
import { type SearchProbe, searchProbe } from "./search-filter.ts";
import type { StoreDeps } from "./types.ts";

const batchesPerQuery = 16;
/**
 * Filters read per query grow from `batchesPerQuery` to this while none match: a rare word walks
 * far. No more, since on PGlite a query holds the region's thread: 1,024 filters took 40-110 ms,
 * and uploads arriving meanwhile waited for it.
 */
const filtersPerQueryMax = 256;

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
    batchesFilteredMax,
    pageMsMax,
  }: Required<Omit<StoreDeps, "clock" | "metrics" | "soleSession">> & Pick<StoreDeps, "clock">,
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
  let filteredOut = 0;
  const startedMs = clock.now();
  let stoppedAt: number | undefined;
  let full = false;
  const probe = scan.q === undefined ? null : await searchProbe(codec, appId, scan.q);
  const filter = { scan, lowTs, highTs, nowMs: clock.now() };
  for await (const { boundary, row } of candidateBatches(db, appId, filter, probe)) {
    const boundaryTs = (asc ? boundary.firstTs : boundary.lastTs).getTime();
    emitBefore(boundaryTs);
    if (logs.length === scan.limit) {
      full = true;
      break;
    }
    // Batches that reach back over the start must all be read, or a page could make no progress.
    const reachesStart = asc ? boundaryTs <= lowTs : boundaryTs >= highTs;
    const spent =
      scanned >= batchesScannedMax ||
      openedBytes >= storedBytesOpenedMax ||
      filteredOut >= batchesFilteredMax ||
      clock.now() - startedMs >= pageMsMax;
    if (spent && !reachesStart) {
      stoppedAt = boundaryTs;
      break;
    }
    if (!row) {
      filteredOut += 1;
      continue;
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

type StoredRow = { batchId: string } & {
  [K in keyof typeof storedColumns]: (typeof batches.$inferSelect)[K];
};
/** A batch in run order: its span, and its stored row unless its search filter ruled it out (null). */
type Candidate = { boundary: { batchId: string; firstTs: Date; lastTs: Date }; row: StoredRow | null };

/**
 * Batches that may hold wanted lines, in run order, fetched a few at a time by keyset. With a
 * probe, a step whose batches mostly matched is followed by one of whole rows (with their filters),
 * one whose batches mostly did not by one of ids, spans and filters, then the stored rows of those
 * not ruled out.
 */
async function* candidateBatches(
  db: Database,
  appId: string,
  { scan, lowTs, highTs, nowMs }: CandidateFilter,
  probe: SearchProbe | null,
): AsyncGenerator<Candidate> {
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
  const direction = ascending ? asc : desc;
  let afterKey: { ts: Date; batchId: string } | undefined;
  let perQuery = batchesPerQuery;
  // A run starts by reading whole rows: a first page of a common word ends within a few batches.
  let wholeRows = true;
  for (;;) {
    // The row comparison, not an OR of its cases, is what PostgreSQL turns into an index bound: with
    // the OR, every step walked the index again from the run's start, and a long run grew quadratic.
    const where = and(
      ...conditions,
      afterKey &&
        (ascending
          ? sql`(${key}, ${batches.batchId}) > (${afterKey.ts.toISOString()}::timestamptz, ${afterKey.batchId})`
          : sql`(${key}, ${batches.batchId}) < (${afterKey.ts.toISOString()}::timestamptz, ${afterKey.batchId})`),
    );
    const order = [direction(key), direction(batches.batchId)];
    const requested = perQuery;
    // As base64 text: PGlite decodes a bytea value byte by byte in JavaScript, ten times slower
    // than the text, and a rare word reads thousands of filters.
    const searchFilter = sql<string | null>`encode(${batches.searchFilter}, 'base64')`;
    const filterBytes = (text: string | null) => (text === null ? null : Buffer.from(text, "base64"));
    let step: Candidate[];
    if (!probe || wholeRows) {
      const rows = await db
        .select({ batchId: batches.batchId, ...storedColumns, ...(probe ? { searchFilter } : {}) })
        .from(batches)
        .where(where)
        .orderBy(...order)
        .limit(perQuery);
      const ruledOut = probe?.rulesOut(rows.map((row) => filterBytes(row.searchFilter ?? null)));
      step = rows.map(({ searchFilter: _, ...row }, at) => ({ boundary: row, row: ruledOut?.[at] ? null : row }));
    } else {
      const spans = await db
        .select({ batchId: batches.batchId, firstTs: batches.firstTs, lastTs: batches.lastTs, searchFilter })
        .from(batches)
        .where(where)
        .orderBy(...order)
        .limit(perQuery);
      const ruledOut = probe.rulesOut(spans.map((span) => filterBytes(span.searchFilter)));
      const openIds = spans.filter((_, at) => !ruledOut[at]).map((span) => span.batchId);
      const stored = openIds.length === 0 ? [] : await storedRows(db, appId, openIds, nowMs);
      const byId = new Map(stored.map((row) => [row.batchId, row]));
      // A batch gone since the spans were read (expired, erased) is passed over like a ruled-out one.
      step = spans.map((span) => ({ boundary: span, row: byId.get(span.batchId) ?? null }));
    }
    if (probe) {
      // Most batches match (a common word): read whole rows, as without a filter. Few match: read
      // filters alone, more at a time while none does.
      const opened = step.filter((candidate) => candidate.row).length;
      wholeRows = opened * 4 >= step.length && step.length > 0;
      perQuery = opened === 0 ? Math.min(perQuery * 4, filtersPerQueryMax) : batchesPerQuery;
    }
    yield* step;
    const last = step.at(-1);
    if (!last || step.length < requested) return;
    afterKey = { ts: ascending ? last.boundary.firstTs : last.boundary.lastTs, batchId: last.boundary.batchId };
  }
}

/** The stored rows of these batches, in no particular order. */
function storedRows(db: Database, appId: string, batchIds: string[], nowMs: number): Promise<StoredRow[]> {
  return db
    .select({ batchId: batches.batchId, ...storedColumns })
    .from(batches)
    .where(and(eq(batches.appId, appId), inArray(batches.batchId, batchIds), unexpired(nowMs)));
}
export function toRecord(line: LogLine, deviceId: string, batchId: string, index: number): LogRecord {
  const { ts, ...rest } = line;
  return { ts: new Date(ts).toISOString(), deviceId, batchId, index, ...rest };
}
