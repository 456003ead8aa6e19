/**
 * Batches as they travel between regions: read out sealed, exactly as stored, and applied on the
 * receiving side. The receiver opens each envelope before storing it (the same keyring serves the
 * whole cluster), which proves it authenticates for this app and batch id and yields the device
 * row and read metadata without trusting the sender for them; the bytes stored are the ones sent.
 *
 * Two versions of one batch id (two regions accepted different uploads under it at once, or the
 * same upload sealed twice after a failover) converge by one rule everywhere: the version received
 * first wins, by (receivedAt, origin) (`versionWins`, shared/replication.ts, which anti-entropy
 * plans its repairs by too), so every region ends up holding the same one.
 *
 * A format-3 batch carries its wrapped device and app keys (regional/keystore/), which the
 * receiver stores unless an erasure it knows covers them. Tombstones win: a batch of an erased app,
 * of a device erased after the batch arrived at its origin, or whose keys an erasure destroyed
 * here, is refused as `erased`, which the sender counts as delivered.
 *
 * An expired batch does not travel: `loadSealed` leaves it out (so the outbox drops its entry and
 * anti-entropy neither pushes nor serves it), and `apply` refuses one that arrives expired here
 * ("expired", which the sender counts as done), so nothing brings an expired batch back.
 */
import { and, eq, or, sql } from "drizzle-orm";
import { type ReplicaOutcome, type SealedBatch, versionWins } from "../../shared/replication.ts";
import { ok } from "../../shared/result.ts";
import { batches } from "../db/schema/index.ts";
import { batchRow, storedColumns, storedFromRow, versionColumns } from "./batch-row.ts";
import { type BatchMeta, metaOf, type StoredSeal } from "./codec.ts";
import { subtractCounts, upsertDevice } from "./devices.ts";
import { expiresAtMs, lockBatchId, RetentionChanged, storedBatch, unexpired, withRetention } from "./expiry.ts";
import { prepareIssues, recordIssues } from "./issues.ts";
import { dayOf, ensurePartitions } from "./partitions.ts";
import type { ReplicaStore, StoreDeps } from "./types.ts";

/** `ReplicaStore.loadSealed`. */
export function loadSealed({ db, keystore, clock }: StoreDeps): ReplicaStore["loadSealed"] {
  return async (keys) => {
    if (keys.length === 0) return [];
    const rows = await db
      .select({ ...versionColumns, ...storedColumns, searchFilter: batches.searchFilter })
      .from(batches)
      .where(
        and(
          unexpired(clock.now()),
          or(...keys.map((key) => and(eq(batches.appId, key.appId), eq(batches.batchId, key.batchId)))),
        ),
      );
    const sealed: SealedBatch[] = [];
    for (const row of rows) {
      const stored = storedFromRow(row);
      // A format-3 batch whose keys were destroyed here goes without them: the receiver stores it
      // only if it holds them (and then an erasure will reach it too).
      const keys = stored.format === 3 ? await keystore.carriedKeys(row.appId, stored.keyId) : null;
      sealed.push({
        appId: row.appId,
        batchId: row.batchId,
        origin: row.origin,
        receivedAt: row.receivedAt.getTime(),
        format: stored.format,
        meta: stored.meta,
        keyId: stored.keyId,
        wrappedKey: Buffer.from(stored.wrappedKey).toString("base64"),
        ciphertext: Buffer.from(stored.ciphertext).toString("base64"),
        ...(keys ? { keys } : {}),
        ...(row.searchFilter ? { searchFilter: Buffer.from(row.searchFilter).toString("base64") } : {}),
      });
    }
    return sealed;
  };
}

/** `ReplicaStore.apply`. */
export function applyReplica({ db, codec, keystore, clock }: StoreDeps): ReplicaStore["apply"] {
  return async (sealed) => {
    const deviceId = sealed.meta?.deviceId;
    const erasure = deviceId === undefined ? null : await keystore.covering(sealed.appId, deviceId);
    if (erasure && (erasure.deviceId === null || sealed.receivedAt < Date.parse(erasure.requestedAt))) {
      return ok("erased");
    }
    if (sealed.keys) await keystore.importKeys(sealed.appId, sealed.keys);
    const bytes = {
      keyId: sealed.keyId,
      wrappedKey: new Uint8Array(Buffer.from(sealed.wrappedKey, "base64")),
      ciphertext: new Uint8Array(Buffer.from(sealed.ciphertext, "base64")),
    };
    const stored: StoredSeal =
      sealed.format === 1
        ? { ...bytes, format: 1 }
        : { ...bytes, format: sealed.format, meta: sealed.meta as BatchMeta };
    // Opening proves the bytes (and, from format 2, the metadata sent with them) are this batch's.
    const opened = await codec.open(sealed.appId, sealed.batchId, stored);
    if (!opened.ok) return opened.error.cause === "erased" ? ok("erased") : opened;
    const batch = opened.value;
    const meta = stored.meta ?? metaOf(batch);
    const issues = await prepareIssues({ codec }, sealed.appId, batch);
    const outcome = await withRetention(db, sealed.appId, async (retentionDays): Promise<ReplicaOutcome> => {
      const nowMs = clock.now();
      // Filed by the origin's receivedAt, so it expires here when it expires there.
      const expiresAt = expiresAtMs(sealed.receivedAt, retentionDays);
      const expired = expiresAt <= nowMs;
      if (!expired) await ensurePartitions(db, [dayOf(expiresAt)]);
      const filter =
        sealed.searchFilter === undefined ? null : new Uint8Array(Buffer.from(sealed.searchFilter, "base64"));
      const row = batchRow(sealed, { ...stored, meta }, expiresAt, filter);
      return db.transaction(async (tx): Promise<ReplicaOutcome> => {
        const current = await lockBatchId(tx, sealed.appId, sealed.batchId);
        if (current !== retentionDays) throw new RetentionChanged(current);
        if (expired) return "expired";
        const [held] = await tx
          .select({
            origin: batches.origin,
            receivedAt: batches.receivedAt,
            expiresAt: batches.expiresAt,
            ...storedColumns,
          })
          .from(batches)
          .where(storedBatch(sealed.appId, sealed.batchId, nowMs));
        if (!held) {
          await tx.insert(batches).values(row);
          await upsertDevice(tx, sealed.appId, batch.device, meta, expiresAt);
          // Grouped here as at the origin, by the origin's arrival time; no webhooks from a replica.
          await recordIssues(tx, sealed.appId, batch, issues, {
            receivedAtMs: sealed.receivedAt,
            sendWebhooks: false,
            nowMs,
          });
          return "stored";
        }
        const storedVersion = { origin: held.origin, receivedAt: held.receivedAt.getTime() };
        if (storedVersion.origin === sealed.origin && storedVersion.receivedAt === sealed.receivedAt) return "held";
        if (!versionWins(sealed, storedVersion)) return "kept";
        // A new version is a new arrival here: the live tail (tail.ts) delivers it again. Its
        // expiry follows its receivedAt, so the row may move to another partition.
        await tx
          .update(batches)
          .set({ ...row, txid: sql`pg_current_xact_id()::text::bigint` })
          .where(
            and(
              eq(batches.appId, sealed.appId),
              eq(batches.batchId, sealed.batchId),
              eq(batches.expiresAt, held.expiresAt),
            ),
          );
        await subtractCounts(tx, sealed.appId, storedFromRow(held).meta);
        await upsertDevice(tx, sealed.appId, batch.device, meta, expiresAt);
        return "replaced";
      });
    });
    return ok(outcome);
  };
}
