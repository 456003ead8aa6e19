/**
 * Pages of an app's log lines (`BatchStore.readLogs`): a first page in either order, a page past
 * a cursor in the cursor's direction, or the lines around one line (`around`), each run by
 * log-scan.ts. A page's `nextCursor` goes on its way; its `prevCursor` goes back the other way
 * from its first line, so a timeline opened anywhere scrolls both ways.
 */
import { type Level, levelRank, levels } from "../../shared/batch.ts";
import { decodeCursor, encodeCursor, type LogPosition, type Order } from "../../shared/cursor.ts";
import { limits } from "../../shared/limits.ts";
import type { LineId, LogPage, LogQuery, LogRecord } from "../../shared/read.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import { batches } from "../db/schema/index.ts";
import { storedColumns, storedFromRow } from "./batch-row.ts";
import { storedBatch } from "./expiry.ts";
import { type Scan, scanLines } from "./log-scan.ts";
import type { BatchStore, ReadFailure, StoreDeps } from "./types.ts";

const opposite = (order: Order): Order => (order === "asc" ? "desc" : "asc");

/** `BatchStore.readLogs`. */
export function readLogs(deps: StoreDeps): BatchStore["readLogs"] {
  const run = {
    ...deps,
    batchesScannedMax: deps.batchesScannedMax ?? limits.readBatchesOpenedMax,
    storedBytesOpenedMax: deps.storedBytesOpenedMax ?? limits.readStoredBytesOpenedMax,
    batchesFilteredMax: deps.batchesFilteredMax ?? limits.readBatchesFilteredMax,
    pageMsMax: deps.pageMsMax ?? limits.readPageMsMax,
  };
  return async (appId, query) => {
    const base = {
      limit: query.limit,
      device: query.device,
      from: query.from,
      to: query.to,
      levels: wantedLevels(query),
      tag: query.tag,
      q: query.q,
    };
    if (base.levels.length === 0) return ok({ logs: [], nextCursor: null, prevCursor: null, integrityErrors: [] });
    if (query.around !== undefined) return readAround(run, appId, base, query.around);

    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (cursor === null) return err({ kind: "bad_cursor", message: "cursor: not a cursor this API returned" });
    const order = cursor?.order ?? query.order ?? "asc";
    const page = await scanLines(run, appId, { ...base, order, after: cursor });
    const first = page.logs[0];
    return ok({
      logs: page.logs,
      nextCursor: page.next && encodeCursor(page.next, order),
      // A first page starts at the beginning of its filters: there is nothing before it.
      prevCursor: cursor && first ? encodeCursor(positionOf(first), opposite(order)) : null,
      integrityErrors: page.integrityErrors,
      ...erased(page.erasedBatches),
    });
  };
}

/** `level` (a minimum) and `levels` (a set) both apply. */
function wantedLevels(query: LogQuery): Level[] {
  const minRank = query.level === undefined ? 0 : levelRank(query.level);
  return levels.filter((level) => levelRank(level) >= minRank && (query.levels?.includes(level) ?? true));
}

type Run = Parameters<typeof scanLines>[0];

/**
 * The lines around one: up to half the limit before it (read backwards from it), then the line
 * itself and what follows, in ascending order. The anchor's time is inside its sealed batch, so
 * that one batch is opened to find it.
 */
async function readAround(
  run: Run,
  appId: string,
  base: Omit<Scan, "order" | "after">,
  anchor: LineId,
): Promise<Result<LogPage, ReadFailure>> {
  const [row] = await run.db
    .select(storedColumns)
    .from(batches)
    .where(storedBatch(appId, anchor.batchId, run.clock.now()));
  const opened = row ? await run.codec.open(appId, anchor.batchId, storedFromRow(row)) : null;
  if (opened && !opened.ok && opened.error.cause === "erased") {
    return ok({ logs: [], nextCursor: null, prevCursor: null, integrityErrors: [], erasedBatches: [anchor.batchId] });
  }
  if (opened && !opened.ok) {
    return ok({
      logs: [],
      nextCursor: null,
      prevCursor: null,
      integrityErrors: [{ batchId: anchor.batchId, code: "INTEGRITY", message: opened.error.message }],
    });
  }
  const line = opened?.value.logs[anchor.index];
  if (!line) return err({ kind: "not_found", message: `around: no line ${anchor.batchId}:${anchor.index} here` });

  const position: LogPosition = { ts: line.ts, batchId: anchor.batchId, index: anchor.index };
  const beforeLimit = Math.floor(base.limit / 2);
  const before =
    beforeLimit > 0
      ? await scanLines(run, appId, { ...base, limit: beforeLimit, order: "desc", after: position })
      : null;
  const after = await scanLines(run, appId, {
    ...base,
    limit: base.limit - (before?.logs.length ?? 0),
    order: "asc",
    // Just before the anchor, so the anchor itself is on the page.
    after: { ...position, index: position.index - 1 },
  });
  const earlier = before ? before.logs.reverse() : [];
  const first = earlier[0] ?? after.logs[0];
  return ok({
    logs: [...earlier, ...after.logs],
    nextCursor: after.next && encodeCursor(after.next, "asc"),
    prevCursor: before
      ? before.next && encodeCursor(before.next, "desc")
      : first
        ? encodeCursor(positionOf(first), "desc")
        : null,
    integrityErrors: [...(before?.integrityErrors ?? []), ...after.integrityErrors],
    ...erased([...(before?.erasedBatches ?? []), ...after.erasedBatches]),
  });
}

/** `erasedBatches` goes on a page only when there are some. */
function erased(batchIds: string[]): Pick<LogPage, "erasedBatches"> {
  return batchIds.length > 0 ? { erasedBatches: batchIds } : {};
}

function positionOf(record: LogRecord): LogPosition {
  return { ts: Date.parse(record.ts), batchId: record.batchId, index: record.index };
}
