/**
 * Storing one batch. The batch row and its device's row are written in one transaction, so a
 * batch is either stored with its device or not at all. The batch id is the idempotency key:
 * `INSERT … ON CONFLICT DO NOTHING` decides who was first, and a later arrival under the same
 * id is compared with the stored copy by opening it. No hash of the content is kept in clear,
 * since a plain hash of log text would let anyone with the database confirm guesses about it.
 *
 * A batch accepted from the edge is written with this region as its origin and, in the same
 * transaction, one outbox row per peer (regional/replication/), so it cannot be stored here and
 * forgotten by replication. The outbox rows start leased to the request that wrote them, which
 * sends them at once; whatever that request does not confirm, the outbox worker sends later.
 *
 * A batch of a deleted app, or of a device whose erasure was requested after this moment (the
 * region's clock behind the edge's), is refused: tombstones win (erasure.ts).
 */
import { and, eq } from "drizzle-orm";
import { type Batch, batchJson } from "../../shared/batch.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import { batches, outbox } from "../db/schema/index.ts";
import { batchRow, storedColumns, storedFromRow } from "./batch-row.ts";
import { upsertDevice } from "./devices.ts";
import type { BatchStore, Placement, PutFailure, PutResult, StoreDeps } from "./types.ts";

/** A batch stored with no placement (tests, tools) has no origin and is owed to no peer. */
const unplaced: Placement = { origin: "", outboxPeers: [], leaseMs: 0 };

/** `BatchStore.put`. */
export function putBatch(deps: StoreDeps): BatchStore["put"] {
  const { db, codec, keystore, clock } = deps;
  return async (appId, batch, placement = unplaced) => {
    const nowMs = clock.now();
    const erasure = await keystore.covering(appId, batch.device.id);
    if (erasure && (erasure.deviceId === null || nowMs < Date.parse(erasure.requestedAt))) {
      const what = erasure.deviceId === null ? `app ${appId} was deleted` : `device ${batch.device.id} is being erased`;
      return err({ kind: "erased", message: `${what} (${erasure.id})` });
    }
    const stored = await codec.seal(appId, batch);
    const row = batchRow({ appId, batchId: batch.batchId, origin: placement.origin, receivedAt: nowMs }, stored);
    const inserted = await db.transaction(async (tx) => {
      const rows = await tx.insert(batches).values(row).onConflictDoNothing().returning({ batchId: batches.batchId });
      if (rows.length === 0) return false;
      await upsertDevice(tx, appId, batch.device, stored.meta);
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
    if (inserted) return ok({ duplicate: false });
    return compareWithStored(deps, appId, batch);
  };
}

async function compareWithStored(
  { db, codec }: StoreDeps,
  appId: string,
  batch: Batch,
): Promise<Result<PutResult, PutFailure>> {
  const [row] = await db
    .select(storedColumns)
    .from(batches)
    .where(and(eq(batches.appId, appId), eq(batches.batchId, batch.batchId)));
  // The row that won the insert is gone only if an erasure removed it meanwhile.
  if (!row) return err({ kind: "erased", message: `batch ${batch.batchId} was erased as it arrived again` });
  const stored = await codec.openJson(appId, batch.batchId, storedFromRow(row));
  if (!stored.ok) {
    return err({ kind: "integrity", message: `batch ${batch.batchId} is stored but cannot be read back` });
  }
  if (stored.value === batchJson(batch)) return ok({ duplicate: true });
  return err({ kind: "conflict", message: `batchId ${batch.batchId} was already stored with different content` });
}
