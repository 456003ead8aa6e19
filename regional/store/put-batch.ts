/**
 * Storing batches from the edge. A batch row and its device's row are written in one transaction,
 * so a batch is either stored with its device or not at all. The batch id is the idempotency key:
 * under the id's lock (expiry.ts) the first writer finds it absent and inserts, and a later
 * arrival under the same id is compared with the stored copy by opening it. No hash of the content is kept in clear,
 * since a plain hash of log text would let anyone with the database confirm guesses about it.
 *
 * Group commit: what can be done before the transaction (the erasure check, the seal, the issues'
 * crypto) is done per batch as it arrives; the transactions are run by one committer per store,
 * which takes every batch waiting when it is free as one group (so an idle region commits a
 * batch at once, and a busy one commits fewer, larger transactions): the ids locked in one order,
 * one lookup, one insert, each device touched written once, whatever the group holds. If the
 * group's transaction fails (the database refused one row), each batch of it is committed alone,
 * so one bad batch fails only its own upload.
 *
 * A batch accepted from the edge is written with this region as its origin. Its peers are owed it
 * (regional/replication/): a sender that ships it at once (the upload path, `leaseMs` > 0) has it
 * tracked by origin sequence (`origin_seq`, the transaction's id), which the replication worker's
 * per-peer marks pass once confirmed (marks.ts), so nothing is written per batch for that; a
 * caller that does not send it (`leaseMs` 0: tools, tests) gets outbox rows, due at once.
 *
 * Its issue occurrences (issues.ts) are grouped in the same transaction, and webhook events for
 * them queued here, the origin, only.
 *
 * A batch of a deleted app, or of a device whose erasure was requested after this moment (the
 * region's clock behind the edge's), is refused: tombstones win (erasure.ts).
 */
import { type Batch, batchJson } from "../../shared/batch.ts";
import type { SealedBatch } from "../../shared/replication.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import type { Transaction } from "../db/client.ts";
import { batches, outbox } from "../db/schema/index.ts";
import { batchRow, currentTransactionId, insertBatches, storedColumns, storedFromRow } from "./batch-row.ts";
import type { BatchMeta, StoredSeal } from "./codec.ts";
import { deviceChanges, upsertDevices } from "./devices.ts";
import { expiresAtMs, knownRetention, lockBatchIds, retentionDaysOf, storedBatch } from "./expiry.ts";
import { type PreparedIssues, prepareIssues, recordIssues } from "./issues.ts";
import { dayOf, ensurePartitions } from "./partitions.ts";
import { searchFilter } from "./search-filter.ts";
import type { BatchStore, Placement, PutFailure, PutResult, StoreDeps } from "./types.ts";

/** A batch stored with no placement (tests, tools) has no origin and is owed to no peer. */
const unplaced: Placement = { origin: "", outboxPeers: [], leaseMs: 0 };

/** Batches in one transaction at most: a group past it waits for the next. */
export const commitGroupMax = 64;

/** One batch waiting for its group, with all it needs in the transaction. */
type Pending = {
  appId: string;
  batch: Batch;
  placement: Placement;
  nowMs: number;
  stored: StoredSeal & { format: 4; meta: BatchMeta };
  searchFilter: Uint8Array | null;
  issues: PreparedIssues;
  retentionDays: number;
  expiresAtMs: number;
};

/** What the transaction did with a batch: stored it, found its id held, or filed it under a stale retention. */
type Committed = { kind: "inserted" } | { kind: "held" } | { kind: "retention"; retentionDays: number };

/** `BatchStore.put`. */
export function putBatch(deps: StoreDeps): BatchStore["put"] {
  const { db, codec, keystore, clock } = deps;
  const committer = createCommitter(deps);

  const put: BatchStore["put"] = async (appId, batch, placement = unplaced) => {
    const nowMs = clock.now();
    const erasure = await keystore.covering(appId, batch.device.id);
    if (erasure && (erasure.deviceId === null || nowMs < Date.parse(erasure.requestedAt))) {
      const what = erasure.deviceId === null ? `app ${appId} was deleted` : `device ${batch.device.id} is being erased`;
      return err({ kind: "erased", message: `${what} (${erasure.id})` });
    }
    const json = batchJson(batch);
    const filter = await searchFilter(codec, appId, batch);
    const issues = await prepareIssues(deps, appId, batch);
    const stored = await codec.sealJson(appId, batch, json, issues.occurrences.length > 0);
    const known = knownRetention(db);
    let retentionDays = known.get(appId) ?? (await retentionDaysOf(db, appId));
    for (;;) {
      known.set(appId, retentionDays);
      const expiresAt = expiresAtMs(nowMs, retentionDays);
      await ensurePartitions(db, [dayOf(expiresAt)]);
      const committed = await committer.commit({
        appId,
        batch,
        placement,
        nowMs,
        stored,
        searchFilter: filter,
        issues,
        retentionDays,
        expiresAtMs: expiresAt,
      });
      if (committed.kind === "retention") {
        retentionDays = committed.retentionDays;
        continue;
      }
      if (committed.kind === "inserted") {
        const tracked = placement.outboxPeers.length > 0 && placement.leaseMs > 0;
        return ok({
          duplicate: false,
          ...(tracked ? { replica: await replicaOf(deps, appId, batch, placement, nowMs, stored, filter) } : {}),
        });
      }
      break;
    }
    const compared = await compareWithStored(deps, appId, batch, json, clock.now());
    if (compared) return compared;
    // The stored copy went in the moment since: erased (then so is this arrival), or expired and
    // its partition dropped (then this arrival is a new one).
    const erasedMeanwhile = await keystore.covering(appId, batch.device.id);
    if (erasedMeanwhile) {
      return err({
        kind: "erased",
        message: `batch ${batch.batchId} was erased as it arrived again (${erasedMeanwhile.id})`,
      });
    }
    return put(appId, batch, placement);
  };
  return put;
}

/**
 * Runs the transactions, one group at a time: a batch arriving while one runs joins the next.
 * `commit` answers once the batch's group has committed (or, if the group failed, once the batch
 * has committed alone, or failed alone).
 */
function createCommitter(deps: StoreDeps) {
  type Waiting = { pending: Pending; resolve: (committed: Committed) => void; reject: (error: unknown) => void };
  let queue: Waiting[] = [];
  let running = false;

  async function drain() {
    running = true;
    while (queue.length > 0) {
      // One turn of the event loop, no timer: uploads whose work before the transaction is done
      // (their I/O callbacks pending) join. PGlite runs a whole transaction without giving the
      // loop a turn, so without this nothing could arrive during one there.
      await new Promise((resolve) => setImmediate(resolve));
      const group = queue.slice(0, commitGroupMax);
      queue = queue.slice(commitGroupMax);
      const stopTimer = deps.metrics?.commitSeconds.startTimer();
      try {
        const outcomes = await deps.db.transaction((tx) =>
          commitGroup(
            deps,
            tx,
            group.map((entry) => entry.pending),
          ),
        );
        for (const [index, entry] of group.entries()) entry.resolve(outcomes[index] as Committed);
      } catch (error) {
        if (group.length === 1) group[0]?.reject(error);
        else {
          // One batch the database refuses must not fail the others: each goes alone.
          for (const entry of group) {
            try {
              const [outcome] = await deps.db.transaction((tx) => commitGroup(deps, tx, [entry.pending]));
              entry.resolve(outcome as Committed);
            } catch (alone) {
              entry.reject(alone);
            }
          }
        }
      } finally {
        stopTimer?.();
        deps.metrics?.groupBatches.observe(group.length);
      }
    }
    running = false;
  }

  return {
    commit(pending: Pending): Promise<Committed> {
      return new Promise((resolve, reject) => {
        queue.push({ pending, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}

/** One group's transaction: what it did with each batch, in the group's order. */
async function commitGroup(deps: StoreDeps, tx: Transaction, group: Pending[]): Promise<Committed[]> {
  const nowMs = deps.clock.now();
  const keys = group.map((entry) => ({ appId: entry.appId, batchId: entry.batch.batchId }));
  const { retention, held } = await lockBatchIds(tx, keys, nowMs, deps.soleSession);
  const outcomes: Committed[] = [];
  const inserted: Pending[] = [];
  for (const entry of group) {
    const current = retention.get(entry.appId) ?? entry.retentionDays;
    const key = `${entry.appId}/${entry.batch.batchId}`;
    if (current !== entry.retentionDays) outcomes.push({ kind: "retention", retentionDays: current });
    else if (held.has(key)) outcomes.push({ kind: "held" });
    else {
      // A second upload of the id in this same group finds the first one held, as it would after it.
      held.add(key);
      inserted.push(entry);
      outcomes.push({ kind: "inserted" });
    }
  }
  if (inserted.length === 0) return outcomes;
  await insertBatches(
    tx,
    inserted.map((entry) => {
      const version = {
        appId: entry.appId,
        batchId: entry.batch.batchId,
        origin: entry.placement.origin,
        receivedAt: entry.nowMs,
      };
      const tracked = entry.placement.outboxPeers.length > 0 && entry.placement.leaseMs > 0;
      return {
        ...batchRow(version, entry.stored, entry.expiresAtMs, entry.searchFilter),
        ...(tracked ? { originSeq: currentTransactionId } : {}),
      };
    }),
  );
  await upsertDevices(
    tx,
    deviceChanges(
      inserted.map((entry) => ({
        appId: entry.appId,
        device: entry.batch.device,
        meta: entry.stored.meta,
        expiresAtMs: entry.expiresAtMs,
      })),
    ),
  );
  for (const entry of inserted) {
    // Only the origin queues webhooks: a stored batch with no placement has none.
    const sendWebhooks = entry.placement.origin !== "";
    await recordIssues(tx, entry.appId, entry.batch, entry.issues, {
      receivedAtMs: entry.nowMs,
      sendWebhooks,
      nowMs: entry.nowMs,
    });
  }
  const queued = inserted.filter((entry) => entry.placement.leaseMs === 0 && entry.placement.outboxPeers.length > 0);
  if (queued.length > 0) {
    await tx.insert(outbox).values(
      queued.flatMap((entry) =>
        entry.placement.outboxPeers.map((peer) => ({
          peer,
          appId: entry.appId,
          batchId: entry.batch.batchId,
          createdAt: new Date(entry.nowMs),
          nextAttemptAt: new Date(entry.nowMs),
        })),
      ),
    );
  }
  return outcomes;
}

/** The batch as a peer receives it, from the bytes just sealed: the upload path ships it without reading it back. */
async function replicaOf(
  { keystore }: StoreDeps,
  appId: string,
  batch: Batch,
  placement: Placement,
  receivedAt: number,
  stored: StoredSeal & { format: 4; meta: BatchMeta },
  searchFilter: Uint8Array | null,
): Promise<SealedBatch> {
  const keys = await keystore.carriedKeys(appId, stored.keyId);
  return {
    appId,
    batchId: batch.batchId,
    origin: placement.origin,
    receivedAt,
    format: stored.format,
    meta: stored.meta,
    keyId: stored.keyId,
    wrappedKey: Buffer.from(stored.wrappedKey).toString("base64"),
    ciphertext: Buffer.from(stored.ciphertext).toString("base64"),
    ...(keys ? { keys } : {}),
    ...(searchFilter ? { searchFilter: Buffer.from(searchFilter).toString("base64") } : {}),
  };
}

async function compareWithStored(
  { db, codec }: StoreDeps,
  appId: string,
  batch: Batch,
  json: string,
  nowMs: number,
): Promise<Result<PutResult, PutFailure> | null> {
  const [row] = await db
    .select(storedColumns)
    .from(batches)
    .where(storedBatch(appId, batch.batchId, nowMs));
  if (!row) return null;
  const stored = await codec.openJson(appId, batch.batchId, storedFromRow(row));
  if (!stored.ok) {
    return err({ kind: "integrity", message: `batch ${batch.batchId} is stored but cannot be read back` });
  }
  if (stored.value === json) return ok({ duplicate: true });
  return err({ kind: "conflict", message: `batchId ${batch.batchId} was already stored with different content` });
}
