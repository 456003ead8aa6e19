/**
 * Storing one batch. The batch row and its device's row are written in one transaction, so a
 * batch is either stored with its device or not at all. The batch id is the idempotency key:
 * under the id's lock (expiry.ts) the first writer finds it absent and inserts, and a later
 * arrival under the same id is compared with the stored copy by opening it. No hash of the content is kept in clear,
 * since a plain hash of log text would let anyone with the database confirm guesses about it.
 *
 * A batch accepted from the edge is written with this region as its origin and, in the same
 * transaction, one outbox row per peer (regional/replication/), so it cannot be stored here and
 * forgotten by replication. The outbox rows start leased to the request that wrote them, which
 * sends them at once; whatever that request does not confirm, the outbox worker sends later.
 *
 * Its issue occurrences (issues.ts) are grouped in the same transaction, and webhook events for
 * them queued here, the origin, only.
 *
 * A batch of a deleted app, or of a device whose erasure was requested after this moment (the
 * region's clock behind the edge's), is refused: tombstones win (erasure.ts).
 */
import { type Batch, batchJson } from "../../shared/batch.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import { batches, outbox } from "../db/schema/index.ts";
import { batchRow, storedColumns, storedFromRow } from "./batch-row.ts";
import { upsertDevice } from "./devices.ts";
import { expiresAtMs, lockBatchId, RetentionChanged, storedBatch, withRetention } from "./expiry.ts";
import { prepareIssues, recordIssues } from "./issues.ts";
import { dayOf, ensurePartitions } from "./partitions.ts";
import { searchFilter } from "./search-filter.ts";
import type { BatchStore, Placement, PutFailure, PutResult, StoreDeps } from "./types.ts";

/** A batch stored with no placement (tests, tools) has no origin and is owed to no peer. */
const unplaced: Placement = { origin: "", outboxPeers: [], leaseMs: 0 };

/** `BatchStore.put`. */
export function putBatch(deps: StoreDeps): BatchStore["put"] {
  const { db, codec, keystore, clock } = deps;
  const put: BatchStore["put"] = async (appId, batch, placement = unplaced) => {
    const nowMs = clock.now();
    const erasure = await keystore.covering(appId, batch.device.id);
    if (erasure && (erasure.deviceId === null || nowMs < Date.parse(erasure.requestedAt))) {
      const what = erasure.deviceId === null ? `app ${appId} was deleted` : `device ${batch.device.id} is being erased`;
      return err({ kind: "erased", message: `${what} (${erasure.id})` });
    }
    const stored = await codec.seal(appId, batch);
    const filter = await searchFilter(codec, appId, batch);
    const issues = await prepareIssues(deps, appId, batch);
    const inserted = await withRetention(db, appId, async (retentionDays) => {
      const expiresAt = expiresAtMs(nowMs, retentionDays);
      await ensurePartitions(db, [dayOf(expiresAt)]);
      const version = { appId, batchId: batch.batchId, origin: placement.origin, receivedAt: nowMs };
      const row = batchRow(version, stored, expiresAt, filter);
      return db.transaction(async (tx) => {
        const current = await lockBatchId(tx, appId, batch.batchId);
        if (current !== retentionDays) throw new RetentionChanged(current);
        const [held] = await tx
          .select({ batchId: batches.batchId })
          .from(batches)
          .where(storedBatch(appId, batch.batchId, nowMs));
        if (held) return false;
        await tx.insert(batches).values(row);
        await upsertDevice(tx, appId, batch.device, stored.meta, expiresAt);
        // Only the origin queues webhooks: a stored batch with no placement has none.
        const sendWebhooks = placement.origin !== "";
        await recordIssues(tx, appId, batch, issues, { receivedAtMs: nowMs, sendWebhooks, nowMs });
        if (placement.outboxPeers.length > 0) {
          await tx.insert(outbox).values(
            placement.outboxPeers.map((peer) => ({
              peer,
              appId,
              batchId: batch.batchId,
              createdAt: new Date(nowMs),
              nextAttemptAt: new Date(nowMs + placement.leaseMs),
            })),
          );
        }
        return true;
      });
    });
    if (inserted) return ok({ duplicate: false });
    const compared = await compareWithStored(deps, appId, batch, nowMs);
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

async function compareWithStored(
  { db, codec }: StoreDeps,
  appId: string,
  batch: Batch,
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
  if (stored.value === batchJson(batch)) return ok({ duplicate: true });
  return err({ kind: "conflict", message: `batchId ${batch.batchId} was already stored with different content` });
}
