/**
 * Replication's high-water marks: what this region's peers are owed of the batches it accepted,
 * without a row per batch and peer on the upload path. A batch sent at once by its upload
 * (put-batch.ts) carries an origin sequence, its transaction's id; each peer has a mark, and every
 * such batch with a sequence below it is held by the peer or waits in the outbox (the late list).
 *
 * The upload path keeps the peers' confirmations in memory (regional/replication/); the outbox
 * worker advances each mark over them (`advanceMark`) in sequence order, and hands a batch still
 * unconfirmed after its sender's lease to the outbox, where it is sent with backoff like any
 * other entry, so a batch a peer keeps refusing does not hold the mark. Confirmations lost with
 * the process only mean those batches are sent again (the peer answers "held").
 *
 * A transaction's id is taken when it starts, so ids do not commit in order: the mark never
 * passes this database's oldest transaction still running (horizon.ts), below which no batch can
 * appear any more. Several processes on one database advance a peer's mark one at a time (its row
 * is locked, and a process that finds it locked leaves the advance to the other).
 */
import { and, asc, count, eq, gte, isNotNull, lt, min, sql } from "drizzle-orm";
import type { BatchKey } from "../../shared/batch.ts";
import { batches, outbox, replicationMarks } from "../db/schema/index.ts";
import { horizonSql } from "./horizon.ts";
import { rowsOf } from "./partitions.ts";
import type { PeerBacklog, ReplicaStore, StoreDeps } from "./types.ts";

/** Batches one advance looks at, at most; the next advance goes on from there. */
const advanceRowsMax = 2000;

/** `ReplicaStore.startMarks`: a new peer's mark starts past everything committed before it was known. */
export function startMarks({ db }: StoreDeps): ReplicaStore["startMarks"] {
  return async (peers) => {
    if (peers.length === 0) return;
    // Batches from before (by an older version of this region) have outbox rows of their own.
    await db
      .insert(replicationMarks)
      .values(peers.map((peer) => ({ peer, seq: horizonSql })))
      .onConflictDoNothing();
  };
}

/** `ReplicaStore.advanceMark`. */
export function advanceMark({ db, clock }: StoreDeps): ReplicaStore["advanceMark"] {
  return async (peer, confirmed, leaseMs) =>
    db.transaction(async (tx) => {
      const [mark] = await tx
        .select({ seq: replicationMarks.seq })
        .from(replicationMarks)
        .where(eq(replicationMarks.peer, peer))
        .for("update", { skipLocked: true });
      if (!mark) return { passed: [], late: 0 };
      const [snapshot] = rowsOf<{ horizon: string }>(await tx.execute(sql`select ${horizonSql}::text as horizon`));
      const horizon = BigInt(snapshot?.horizon ?? "0");
      const rows = await tx
        .select({
          appId: batches.appId,
          batchId: batches.batchId,
          seq: batches.originSeq,
          receivedAt: batches.receivedAt,
          expiresAt: batches.expiresAt,
        })
        .from(batches)
        .where(and(gte(batches.originSeq, mark.seq), lt(batches.originSeq, horizon)))
        .orderBy(asc(batches.originSeq))
        .limit(advanceRowsMax);
      const nowMs = clock.now();
      // A full page may end inside a transaction's batches: that one is left for the next advance.
      const complete = rows.length < advanceRowsMax;
      const lastSeq = rows.at(-1)?.seq ?? null;
      let next = complete ? horizon : (lastSeq as bigint);
      const passed: BatchKey[] = [];
      const late: (BatchKey & { receivedAt: Date })[] = [];
      for (let start = 0; start < rows.length; ) {
        const seq = rows[start]?.seq as bigint;
        let end = start;
        while (end < rows.length && rows[end]?.seq === seq) end += 1;
        if (!complete && seq === lastSeq) break;
        const group = rows.slice(start, end);
        start = end;
        // Expired batches are owed to nobody.
        const owed = group.filter((row) => row.expiresAt.getTime() > nowMs && !confirmed(row));
        if (owed.some((row) => row.receivedAt.getTime() > nowMs - leaseMs)) {
          // Its sender may still be at it: the mark waits here.
          next = seq;
          break;
        }
        late.push(...owed);
        passed.push(...group.map(({ appId, batchId }) => ({ appId, batchId })));
      }
      if (late.length > 0) {
        await tx
          .insert(outbox)
          .values(
            late.map((row) => ({
              peer,
              appId: row.appId,
              batchId: row.batchId,
              createdAt: row.receivedAt,
              nextAttemptAt: new Date(nowMs),
            })),
          )
          .onConflictDoNothing();
      }
      if (next > mark.seq) {
        await tx.update(replicationMarks).set({ seq: next }).where(eq(replicationMarks.peer, peer));
      }
      return { passed, late: late.length };
    });
}

/** `ReplicaStore.owed`. */
export function owed({ db, clock }: Pick<StoreDeps, "db" | "clock">): ReplicaStore["owed"] {
  return async () => {
    const now = new Date(clock.now()).toISOString();
    const rows = await db
      .select({
        peer: replicationMarks.peer,
        // The peer's earliest due entry and the highest sequence, each read off its index's end:
        // `exists (… next_attempt_at <= $1)` and `exists (… origin_seq >= seq)` were planned as scans
        // (the planner guesses a third of the rows match a bound it cannot see), which read a peer's
        // whole outbox (a day of batches when it was down) and every partition, twice a second.
        // Spelled out: drizzle leaves a column in a select's own fields unqualified ("peer" = "peer").
        due: sql<boolean>`coalesce((select min(outbox.next_attempt_at) from outbox where outbox.peer = replication_marks.peer) <= ${now}::timestamptz, false)`,
        aboveMark: sql<boolean>`coalesce((select max(origin_seq) from batches) >= replication_marks.seq, false)`,
      })
      .from(replicationMarks);
    return new Map(rows.map((row) => [row.peer, { due: row.due, aboveMark: row.aboveMark }]));
  };
}

/**
 * `ReplicaStore.backlog`: per peer, the outbox's entries and the batches above its mark that it has
 * not confirmed (as far as this process knows), with the age of the oldest.
 */
export function backlog({ db, clock }: StoreDeps): ReplicaStore["backlog"] {
  return async (confirmed = () => false) => {
    const now = clock.now();
    const result = new Map<string, PeerBacklog>();
    const add = (peer: string, entries: number, oldestMs: number | null) => {
      if (entries === 0) return;
      const held = result.get(peer) ?? { entries: 0, oldestAgeMs: null };
      const ageMs = oldestMs === null ? null : Math.max(0, now - oldestMs);
      result.set(peer, {
        entries: held.entries + entries,
        oldestAgeMs: held.oldestAgeMs === null ? ageMs : Math.max(held.oldestAgeMs, ageMs ?? 0),
      });
    };
    const queued = await db
      .select({ peer: outbox.peer, entries: count(), oldest: min(outbox.createdAt) })
      .from(outbox)
      .groupBy(outbox.peer);
    for (const row of queued) add(row.peer, row.entries, row.oldest ? new Date(row.oldest).getTime() : null);
    // No parameter, expiry decided here: a statement over every partition with none is planned once
    // per kept statement (PGlite), where `expires_at > $1` was planned on every health probe.
    // Each mark's batches are read by a subquery of their own, in sequence order: as a plain join,
    // the planner (not knowing the marks' values when planning, and guessing a third of all batches)
    // scanned every batch held and then the marks, 50-300 ms with 96,000 batches, on every health
    // probe. The `order by` keeps the subquery apart (PostgreSQL does not merge an ordered one into
    // the join), so it walks the sequence index from each mark: 0.1 ms.
    const owed = db
      .select({
        appId: batches.appId,
        batchId: batches.batchId,
        receivedAt: batches.receivedAt,
        expiresAt: batches.expiresAt,
      })
      .from(batches)
      .where(and(isNotNull(batches.originSeq), gte(batches.originSeq, replicationMarks.seq)))
      .orderBy(asc(batches.originSeq))
      .as("owed");
    const unmarked = await db
      .select({
        peer: replicationMarks.peer,
        appId: owed.appId,
        batchId: owed.batchId,
        receivedAt: owed.receivedAt,
        expiresAt: owed.expiresAt,
      })
      .from(replicationMarks)
      .crossJoinLateral(owed);
    const byPeer = new Map<string, { entries: number; oldestMs: number | null }>();
    for (const row of unmarked) {
      // Expired batches are owed to nobody.
      if (row.expiresAt.getTime() <= now || confirmed(row.peer, row)) continue;
      const held = byPeer.get(row.peer) ?? { entries: 0, oldestMs: null };
      held.entries += 1;
      const ms = row.receivedAt.getTime();
      held.oldestMs = held.oldestMs === null ? ms : Math.min(held.oldestMs, ms);
      byPeer.set(row.peer, held);
    }
    for (const [peer, { entries, oldestMs }] of byPeer) add(peer, entries, oldestMs);
    return result;
  };
}
