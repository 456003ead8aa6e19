/**
 * Batches as they travel between regions: read out sealed, exactly as stored, and applied on the
 * receiving side. The receiver authenticates each envelope before storing it (the same keyring
 * serves the whole cluster), which proves it is this app's and batch id's and yields the device
 * row and read metadata without trusting the sender for them (format 4 from the header inside the
 * ciphertext, without decompressing; codec.ts `check`); the bytes stored are the ones sent.
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
import type { Batch, Device } from "../../shared/batch.ts";
import { type ReplicaOutcome, type SealedBatch, versionWins } from "../../shared/replication.ts";
import { ok, type Result } from "../../shared/result.ts";
import { batches } from "../db/schema/index.ts";
import { batchRow, insertBatches, storedColumns, storedFromRow, versionColumns } from "./batch-row.ts";
import { type BatchMeta, type IntegrityFailure, metaOf, type StoredSeal } from "./codec.ts";
import { deviceChanges, subtractCounts, upsertDevice, upsertDevices } from "./devices.ts";
import {
  expiresAtMs,
  knownRetention,
  lockBatchId,
  lockBatchIds,
  RetentionChanged,
  retentionDaysOf,
  storedBatch,
  unexpired,
  withRetention,
} from "./expiry.ts";
import { type PreparedIssues, prepareIssues, recordIssues } from "./issues.ts";
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
      const keys = stored.format >= 3 ? await keystore.carriedKeys(row.appId, stored.keyId) : null;
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
    // Authenticating proves the bytes (and, from format 2, the metadata sent with them) are this
    // batch's; from format 4 that is a decryption only, unless the batch holds issue occurrences.
    const checked = await codec.check(sealed.appId, sealed.batchId, stored);
    if (!checked.ok) return checked.error.cause === "erased" ? ok("erased") : checked;
    const { device, batch } = checked.value;
    const meta = stored.meta ?? metaOf(batch as Batch);
    const issues = batch ? await prepareIssues({ codec }, sealed.appId, batch) : null;
    const outcome = await withRetention(db, sealed.appId, async (retentionDays): Promise<ReplicaOutcome> => {
      const nowMs = clock.now();
      // Filed by the origin's receivedAt, so it expires here when it expires there.
      const expiresAt = expiresAtMs(sealed.receivedAt, retentionDays);
      const expired = expiresAt <= nowMs;
      if (!expired) await ensurePartitions(db, [dayOf(expiresAt)]);
      const row = batchRow(sealed, { ...stored, meta }, expiresAt, filterOf(sealed));
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
          await insertBatches(tx, [row]);
          await upsertDevice(tx, sealed.appId, device, meta, expiresAt);
          // Grouped here as at the origin, by the origin's arrival time; no webhooks from a replica.
          if (batch && issues) {
            await recordIssues(tx, sealed.appId, batch, issues, {
              receivedAtMs: sealed.receivedAt,
              sendWebhooks: false,
              nowMs,
            });
          }
          return "stored";
        }
        const storedVersion = { origin: held.origin, receivedAt: held.receivedAt.getTime() };
        if (storedVersion.origin === sealed.origin && storedVersion.receivedAt === sealed.receivedAt) return "held";
        if (!versionWins(sealed, storedVersion)) return "kept";
        // A new version is a new arrival here: the live tail (tail.ts) delivers it again. Its
        // expiry follows its receivedAt, so the row may move to another partition.
        await tx
          .update(batches)
          // Another region's version now: this region no longer owes it to anyone.
          .set({ ...row, originSeq: null, txid: sql`pg_current_xact_id()::text::bigint` })
          .where(
            and(
              eq(batches.appId, sealed.appId),
              eq(batches.batchId, sealed.batchId),
              eq(batches.expiresAt, held.expiresAt),
            ),
          );
        await subtractCounts(tx, sealed.appId, storedFromRow(held).meta);
        await upsertDevice(tx, sealed.appId, device, meta, expiresAt);
        return "replaced";
      });
    });
    return ok(outcome);
  };
}

/**
 * `ReplicaStore.applyMany`: a replicate call's batches, the common case (a batch new here) in one
 * transaction, as the origin's group commit stored them: ids locked in one order, one lookup, one
 * insert, each device written once. Whatever is not simply new (held already, another version,
 * expired, filed under a retention changed meanwhile), or a group the database refuses, goes
 * through `apply` one by one, which decides it by the rules above.
 */
export function applyReplicas(deps: StoreDeps): ReplicaStore["applyMany"] {
  const { db, codec, keystore, clock } = deps;
  const applyOne = applyReplica(deps);
  return async (sent) => {
    const results: (Result<ReplicaOutcome, IntegrityFailure> | undefined)[] = sent.map(() => undefined);
    type Ready = {
      index: number;
      sealed: SealedBatch;
      row: typeof batches.$inferInsert;
      meta: BatchMeta;
      device: Device;
      batch: Batch | null;
      issues: PreparedIssues | null;
      retentionDays: number;
      expiresAtMs: number;
    };
    const ready: Ready[] = [];
    const known = knownRetention(db);
    for (const [index, sealed] of sent.entries()) {
      // Format 1 carries no metadata to decide by before opening: the one-by-one path.
      if (sealed.format === 1 || !sealed.meta) continue;
      const meta = sealed.meta;
      const erasure = await keystore.covering(sealed.appId, meta.deviceId);
      if (erasure && (erasure.deviceId === null || sealed.receivedAt < Date.parse(erasure.requestedAt))) {
        results[index] = ok("erased");
        continue;
      }
      if (sealed.keys) await keystore.importKeys(sealed.appId, sealed.keys);
      const stored: StoredSeal = {
        keyId: sealed.keyId,
        wrappedKey: new Uint8Array(Buffer.from(sealed.wrappedKey, "base64")),
        ciphertext: new Uint8Array(Buffer.from(sealed.ciphertext, "base64")),
        format: sealed.format,
        meta,
      };
      const checked = await codec.check(sealed.appId, sealed.batchId, stored);
      if (!checked.ok) {
        results[index] = checked.error.cause === "erased" ? ok("erased") : checked;
        continue;
      }
      const retentionDays = known.get(sealed.appId) ?? (await retentionDaysOf(db, sealed.appId));
      known.set(sealed.appId, retentionDays);
      const expiresAt = expiresAtMs(sealed.receivedAt, retentionDays);
      if (expiresAt <= clock.now()) continue;
      await ensurePartitions(db, [dayOf(expiresAt)]);
      const { device, batch } = checked.value;
      ready.push({
        index,
        sealed,
        row: batchRow(sealed, { ...stored, meta }, expiresAt, filterOf(sealed)),
        meta,
        device,
        batch,
        issues: batch ? await prepareIssues({ codec }, sealed.appId, batch) : null,
        retentionDays,
        expiresAtMs: expiresAt,
      });
    }
    if (ready.length > 0) {
      try {
        const inserted = await db.transaction(async (tx) => {
          const keys = ready.map((entry) => ({ appId: entry.sealed.appId, batchId: entry.sealed.batchId }));
          const nowMs = clock.now();
          const { retention, held } = await lockBatchIds(tx, keys, nowMs, deps.soleSession);
          const fresh = ready.filter((entry) => {
            const key = `${entry.sealed.appId}/${entry.sealed.batchId}`;
            if (held.has(key) || retention.get(entry.sealed.appId) !== entry.retentionDays) return false;
            if (entry.expiresAtMs <= nowMs) return false;
            held.add(key);
            return true;
          });
          if (fresh.length === 0) return fresh;
          await insertBatches(
            tx,
            fresh.map((entry) => entry.row),
          );
          await upsertDevices(
            tx,
            deviceChanges(
              fresh.map((entry) => ({
                appId: entry.sealed.appId,
                device: entry.device,
                meta: entry.meta,
                expiresAtMs: entry.expiresAtMs,
              })),
            ),
          );
          for (const entry of fresh) {
            if (!entry.batch || !entry.issues) continue;
            // Grouped here as at the origin, by the origin's arrival time; no webhooks from a replica.
            await recordIssues(tx, entry.sealed.appId, entry.batch, entry.issues, {
              receivedAtMs: entry.sealed.receivedAt,
              sendWebhooks: false,
              nowMs,
            });
          }
          return fresh;
        });
        for (const entry of inserted) results[entry.index] = ok("stored");
      } catch {
        // Refused as a group: each goes alone below, and fails alone if it must.
      }
    }
    for (const [index, sealed] of sent.entries()) {
      if (results[index] === undefined) results[index] = await applyOne(sealed);
    }
    return results as Result<ReplicaOutcome, IntegrityFailure>[];
  };
}

/** The search filter as the sender computed it (search-filter.ts), or none. */
function filterOf(sealed: SealedBatch): Uint8Array | null {
  return sealed.searchFilter === undefined ? null : new Uint8Array(Buffer.from(sealed.searchFilter, "base64"));
}
