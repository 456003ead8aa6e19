/**
 * Device rows: one per app and device id, kept up to date by every batch written (by the upload
 * path, put-batch.ts, and by replicas, replica.ts, in the batch's own transaction), and listed
 * for the routes most recently active first, searched and paged.
 *
 * Each row also counts its device's lines per level and keeps the widest time span of its
 * batches, both from the clear metadata of each batch, so the device list shows counts without
 * opening a batch and a keyset read knows how far back a batch can start (log-scan.ts).
 */
import { and, desc, eq, gt, ilike, lt, or, type SQL, sql } from "drizzle-orm";
import { type Device, deviceInfo, levels } from "../../shared/batch.ts";
import { decodeDeviceCursor, encodeDeviceCursor } from "../../shared/cursor.ts";
import type { DeviceSummary } from "../../shared/read.ts";
import { err, ok } from "../../shared/result.ts";
import type { Transaction } from "../db/client.ts";
import { preparedInsert } from "../db/prepared-insert.ts";
import { devices } from "../db/schema/index.ts";
import type { BatchMeta } from "./codec.ts";
import type { BatchStore, StoreDeps } from "./types.ts";

type CountColumn = `${(typeof levels)[number]}Count`;
const countColumns = levels.map((level) => `${level}Count` as CountColumn);

/** `BatchStore.devices`: most recently seen first, `q` a substring of the id or info, keyset paged. */
export function listDevices({ db, clock }: StoreDeps): BatchStore["devices"] {
  return async (appId, query) => {
    const after = query.cursor === undefined ? undefined : decodeDeviceCursor(query.cursor);
    if (after === null) return err({ kind: "bad_cursor", message: "cursor: not a cursor this API returned" });
    // A device whose last batch has expired is gone for reads at once (expire.ts deletes it later).
    const conditions: (SQL | undefined)[] = [eq(devices.appId, appId), gt(devices.expiresAt, new Date(clock.now()))];
    if (query.q !== undefined) {
      // LIKE's own wildcards in the needle are matched literally.
      const pattern = `%${query.q.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
      conditions.push(
        or(
          ...[devices.deviceId, devices.name, devices.model, devices.os, devices.appVersion].map((column) =>
            ilike(column, pattern),
          ),
        ),
      );
    }
    if (after) {
      const lastSeen = new Date(after.lastSeenMs);
      conditions.push(
        or(lt(devices.lastSeen, lastSeen), and(eq(devices.lastSeen, lastSeen), lt(devices.deviceId, after.deviceId))),
      );
    }
    const rows = await db
      .select()
      .from(devices)
      .where(and(...conditions))
      .orderBy(desc(devices.lastSeen), desc(devices.deviceId))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > query.limit && last
        ? encodeDeviceCursor({ lastSeenMs: last.lastSeen.getTime(), deviceId: last.deviceId })
        : null;
    return ok({ devices: page.map(toSummary), nextCursor });
  };
}

function toSummary(row: typeof devices.$inferSelect): DeviceSummary {
  return {
    id: row.deviceId,
    name: row.name,
    model: row.model,
    os: row.os,
    osVersion: row.osVersion,
    appVersion: row.appVersion,
    appBuild: row.appBuild,
    locale: row.locale,
    firstSeen: row.firstSeen.toISOString(),
    lastSeen: row.lastSeen.toISOString(),
    counts: {
      trace: row.traceCount,
      debug: row.debugCount,
      info: row.infoCount,
      warn: row.warnCount,
      error: row.errorCount,
      fatal: row.fatalCount,
    },
  };
}

/**
 * A device's span comes from line times, not arrival times, so every region that stores the same
 * batches holds the same device rows. Its info is the one sent with its latest lines; its counts
 * add the batch's; it expires with its last batch (the lifecycle loop deletes it then).
 */
export async function upsertDevice(
  tx: Transaction,
  appId: string,
  device: Device,
  meta: BatchMeta,
  expiresAtMs: number,
): Promise<void> {
  await upsertDevices(tx, [{ appId, device, meta, expiresAtMs, batchSpanMs: meta.lastTs - meta.firstTs }]);
}

/**
 * What several batches of one device add to its row (`deviceChanges` sums them), or one batch's:
 * its info the one sent with its latest lines, `batchSpanMs` the widest span of one batch.
 */
export type DeviceChange = { appId: string; device: Device; meta: BatchMeta; expiresAtMs: number; batchSpanMs: number };

/** One row per device written by a group of batches (put-batch.ts), in one statement. */
export function deviceChanges(
  batches: readonly { appId: string; device: Device; meta: BatchMeta; expiresAtMs: number }[],
): DeviceChange[] {
  const byDevice = new Map<string, DeviceChange>();
  for (const { appId, device, meta, expiresAtMs } of batches) {
    const key = `${appId}/${device.id}`;
    const spanMs = meta.lastTs - meta.firstTs;
    const held = byDevice.get(key);
    if (!held) {
      byDevice.set(key, {
        appId,
        device,
        meta: { ...meta, counts: { ...meta.counts } },
        expiresAtMs,
        batchSpanMs: spanMs,
      });
      continue;
    }
    // As the upsert would have it batch by batch: the info of the latest lines (a tie goes to the later batch).
    if (meta.lastTs >= held.meta.lastTs) held.device = device;
    held.meta.firstTs = Math.min(held.meta.firstTs, meta.firstTs);
    held.meta.lastTs = Math.max(held.meta.lastTs, meta.lastTs);
    for (const column of countColumns) held.meta.counts[column] += meta.counts[column];
    held.expiresAtMs = Math.max(held.expiresAtMs, expiresAtMs);
    held.batchSpanMs = Math.max(held.batchSpanMs, spanMs);
  }
  // Rows in key order, so two groups touching the same devices lock them alike.
  return [...byDevice.entries()].sort(([left], [right]) => (left < right ? -1 : 1)).map(([, change]) => change);
}

const newer = sql`excluded.last_seen >= ${devices.lastSeen}`;
const latest = (column: (typeof devices)[keyof ReturnType<typeof deviceInfo>]) =>
  sql`case when ${newer} then excluded.${sql.identifier(column.name)} else ${column} end`;
const added = (column: CountColumn) => sql`${devices[column]} + excluded.${sql.identifier(devices[column].name)}`;

/** A device row's insert, or what it adds to the row already there. */
const upsertRows = preparedInsert(devices, (insert) =>
  insert.onConflictDoUpdate({
    target: [devices.appId, devices.deviceId],
    set: {
      name: latest(devices.name),
      model: latest(devices.model),
      os: latest(devices.os),
      osVersion: latest(devices.osVersion),
      appVersion: latest(devices.appVersion),
      appBuild: latest(devices.appBuild),
      locale: latest(devices.locale),
      firstSeen: sql`least(${devices.firstSeen}, excluded.first_seen)`,
      lastSeen: sql`greatest(${devices.lastSeen}, excluded.last_seen)`,
      ...Object.fromEntries(countColumns.map((column) => [column, added(column)])),
      batchSpanMsMax: sql`greatest(${devices.batchSpanMsMax}, excluded.batch_span_ms_max)`,
      expiresAt: sql`greatest(${devices.expiresAt}, excluded.expires_at)`,
    },
  }),
);

export async function upsertDevices(tx: Transaction, changes: readonly DeviceChange[]): Promise<void> {
  await upsertRows(
    tx,
    changes.map(({ appId, device, meta, expiresAtMs, batchSpanMs }) => ({
      appId,
      deviceId: device.id,
      ...deviceInfo(device),
      firstSeen: new Date(meta.firstTs),
      lastSeen: new Date(meta.lastTs),
      ...meta.counts,
      batchSpanMsMax: batchSpanMs,
      expiresAt: new Date(expiresAtMs),
    })),
  );
}

/**
 * Takes a replaced version's lines back out of its device's counts (replica.ts), so counts stay
 * the sum over the versions held. Its span and times stay: they only bound what a read looks at.
 */
export async function subtractCounts(tx: Transaction, appId: string, meta: BatchMeta): Promise<void> {
  await tx
    .update(devices)
    .set(
      Object.fromEntries(
        countColumns.map((column) => [column, sql`${devices[column]} - ${meta.counts[column]}`]),
      ) as Partial<typeof devices.$inferInsert>,
    )
    .where(and(eq(devices.appId, appId), eq(devices.deviceId, meta.deviceId)));
}
