/**
 * The live tail (`BatchStore.tail`): lines in the order their batches arrived in this region, not
 * in line-time order, since a batch may arrive with old timestamps (a device back online).
 *
 * Arrival order is `batches.txid`, the transaction that stored a version here. A sequence would
 * not do: numbers are taken at insert but become visible at commit, so a reader could see 6 before
 * 5 commits and skip 5 for good. A transaction id comes with a watermark instead: no row can still
 * appear with a txid below the database's oldest transaction running (horizon.ts), so a poll
 * delivers only rows below it, in (txid, batch id, index) order, and the cursor says how far it got.
 *
 * Txids mean nothing in another region. A cursor names the region that issued it; another region
 * (after a failover) starts over from the rows that arrived since `sinceMs`, the cursor's floor on
 * arrival time (`limits.tailFailoverLookbackMs` before its last poll), so a switch repeats some
 * lines (clients drop them by line id) rather than missing any. The floor applies to every poll: a
 * batch that reaches this region more than that long after it was first accepted (replication
 * catching up after an outage) shows up in reads, not in the tail.
 */
import { and, asc, eq, gt, gte, lt, or, type SQL, sql } from "drizzle-orm";
import { levelRank, levels } from "../../shared/batch.ts";
import { decodeTailCursor, encodeTailCursor, type TailPosition } from "../../shared/cursor.ts";
import { limits } from "../../shared/limits.ts";
import type { IntegrityError, LogRecord } from "../../shared/read.ts";
import { err, ok } from "../../shared/result.ts";
import { batches } from "../db/schema/index.ts";
import { storedColumns, storedFromRow } from "./batch-row.ts";
import { unexpired } from "./expiry.ts";
import { horizonSql } from "./horizon.ts";
import { toRecord } from "./log-scan.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

const batchesPerQuery = 16;
/** Index past any line: "all of this batch delivered". */
const wholeBatch = limits.batchLinesMax - 1;

/** `BatchStore.tail`. */
export function tail({
  db,
  codec,
  clock,
  batchesScannedMax = limits.readBatchesOpenedMax,
}: StoreDeps): BatchStore["tail"] {
  return async (appId, query, region) => {
    const nowMs = clock.now();
    const [watermark] = await db
      .select({ horizon: sql<string>`${horizonSql}::text` })
      .from(sql`(values (1)) as one (x)`);
    const horizon = String(watermark?.horizon ?? "0");
    const decoded = query.after === undefined ? undefined : decodeTailCursor(query.after);
    if (decoded === null) return err({ kind: "bad_cursor", message: "after: not a tail cursor this API returned" });
    const sinceMs = Math.max(decoded?.sinceMs ?? 0, nowMs - limits.tailFailoverLookbackMs);
    // No cursor: start now. Another region's cursor: start at its arrival floor (see above).
    let position: TailPosition =
      decoded === undefined
        ? { region, txid: horizon, batchId: "", index: -1, sinceMs }
        : decoded.region === region
          ? decoded
          : { region, txid: "0", batchId: "", index: -1, sinceMs: decoded.sinceMs };
    const floorMs = position.sinceMs;
    const minRank = query.level === undefined ? 0 : levelRank(query.level);
    const wanted = levels.filter((level) => levelRank(level) >= minRank && (query.levels?.includes(level) ?? true));
    const needle = query.q?.toLowerCase();

    const logs: LogRecord[] = [];
    const integrityErrors: IntegrityError[] = [];
    let opened = 0;
    let exhausted = decoded === undefined || wanted.length === 0;
    while (!exhausted && logs.length < query.limit && opened < batchesScannedMax) {
      const from = BigInt(position.txid);
      const conditions: (SQL | undefined)[] = [
        eq(batches.appId, appId),
        unexpired(nowMs),
        lt(batches.txid, BigInt(horizon)),
        or(gt(batches.txid, from), and(eq(batches.txid, from), gte(batches.batchId, position.batchId))),
        gte(batches.receivedAt, new Date(floorMs)),
        query.device === undefined ? undefined : eq(batches.deviceId, query.device),
        wanted.length === levels.length
          ? undefined
          : sql`(${sql.join(
              wanted.map((level) => batches[`${level}Count`]),
              sql` + `,
            )}) > 0`,
      ];
      const rows = await db
        .select({ batchId: batches.batchId, txid: batches.txid, ...storedColumns })
        .from(batches)
        .where(and(...conditions))
        .orderBy(asc(batches.txid), asc(batches.batchId))
        .limit(batchesPerQuery);
      for (const row of rows) {
        const txid = String(row.txid);
        const sameBatch = txid === position.txid && row.batchId === position.batchId;
        if (sameBatch && position.index >= wholeBatch) continue;
        opened += 1;
        const batch = await codec.open(appId, row.batchId, storedFromRow(row));
        if (!batch.ok) {
          // An erased batch is skipped quietly: it is gone, not damaged.
          if (!sameBatch && batch.error.cause === "integrity")
            integrityErrors.push({ batchId: row.batchId, code: "INTEGRITY", message: batch.error.message });
          position = { ...position, txid, batchId: row.batchId, index: wholeBatch };
          continue;
        }
        const lines = batch.value.logs;
        let index = sameBatch ? position.index + 1 : 0;
        for (; index < lines.length && logs.length < query.limit; index++) {
          const line = lines[index];
          if (!line) continue;
          if (!wanted.includes(line.level)) continue;
          if (query.tag !== undefined && line.tag !== query.tag) continue;
          if (needle !== undefined && !line.text.toLowerCase().includes(needle)) continue;
          logs.push(toRecord(line, row.deviceId, row.batchId, index));
        }
        position = { ...position, txid, batchId: row.batchId, index: index >= lines.length ? wholeBatch : index - 1 };
        if (logs.length >= query.limit) break;
      }
      if (rows.length < batchesPerQuery && logs.length < query.limit) exhausted = true;
    }
    // Everything below the watermark was seen: the next poll starts there, not at the last match.
    if (exhausted && BigInt(position.txid) < BigInt(horizon))
      position = { ...position, txid: horizon, batchId: "", index: -1 };
    return ok({
      logs,
      // The floor moves up only once caught up: a failover's catch-up must not lose its start.
      nextCursor: encodeTailCursor({ ...position, region, sinceMs: exhausted ? Math.max(sinceMs, floorMs) : floorMs }),
      integrityErrors,
    });
  };
}
