/**
 * Where a log read stopped. Lines are ordered by (time, batch id, index in the batch); a cursor
 * is the position of the last line a page covered and the direction it read in, and the next page
 * starts strictly past it that way. Clients treat it as opaque (base64url of a small JSON array).
 * Both tiers decode it: the edge to refuse a forged one before any region sees it, a region to
 * read from it. Only positions a page can end at decode: a line time in the accepted range, a
 * batch id (or "" for "between line times") and an index within a batch (-1 with "").
 *
 * `[ts, batchId, index]` reads ascending (the only form before `order` existed, so old cursors
 * still work); `[ts, batchId, index, "desc"]` reads descending.
 *
 * The live tail has its own cursor (`encodeTailCursor`): it follows arrival order in one region,
 * not line times, because a batch may arrive long after its lines were written.
 */
import { z } from "zod";
import { batchIdSchema, tsMsMax, tsMsMin } from "./batch.ts";
import { fromBase64Url, toBase64Url, utf8 } from "./encoding.ts";
import { limits } from "./limits.ts";
import { regionNameSchema } from "./regions.ts";

export const orders = ["asc", "desc"] as const;
export type Order = (typeof orders)[number];

export type LogPosition = { ts: number; batchId: string; index: number };
export type LogCursor = LogPosition & { order: Order };

const indexSchema = z
  .int()
  .min(-1)
  .max(limits.batchLinesMax - 1);

const positionSchema = z.union([
  z.tuple([z.int().min(tsMsMin).max(tsMsMax), z.union([batchIdSchema, z.literal("")]), indexSchema]),
  z.tuple([z.int().min(tsMsMin).max(tsMsMax), z.union([batchIdSchema, z.literal("")]), indexSchema, z.literal("desc")]),
]);

export function encodeCursor(position: LogPosition, order: Order = "asc"): string {
  const fields: unknown[] = [position.ts, position.batchId, position.index];
  if (order === "desc") fields.push("desc");
  return toBase64Url(utf8(JSON.stringify(fields)));
}

/** The position a cursor names and its direction, or null when it is not one this service wrote. */
export function decodeCursor(cursor: string): LogCursor | null {
  const parsed = positionSchema.safeParse(decodeJson(cursor));
  if (!parsed.success) return null;
  const [ts, batchId, index, order = "asc"] = parsed.data;
  return { ts, batchId, index, order };
}

/** The position just before every line at `ts`: a page that read all lines before `ts` ends here. */
export function positionBefore(ts: number): LogPosition {
  return { ts, batchId: "", index: -1 };
}

/** Total order of lines; batch ids compare by code unit, the same in every region. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.batchId !== b.batchId) return a.batchId < b.batchId ? -1 : 1;
  return a.index - b.index;
}

/**
 * Where a live tail stopped, in one region's arrival order: `txid` is the PostgreSQL transaction
 * that stored the batch (regional/store/tail.ts), `batchId`/`index` the last line delivered
 * inside it ("" and -1 for "nothing of this transaction yet"), `sinceMs` the oldest arrival time
 * the tail still looks at, which is what a region that did not issue the cursor starts from.
 */
export type TailPosition = { region: string; txid: string; batchId: string; index: number; sinceMs: number };

const tailSchema = z.tuple([
  z.literal("tail"),
  regionNameSchema,
  z
    .string()
    .regex(/^\d{1,19}$/)
    .refine((txid) => BigInt(txid) <= 2n ** 63n - 1n),
  z.union([batchIdSchema, z.literal("")]),
  indexSchema,
  z.int().min(tsMsMin).max(tsMsMax),
]);

export function encodeTailCursor(position: TailPosition): string {
  const { region, txid, batchId, index, sinceMs } = position;
  return toBase64Url(utf8(JSON.stringify(["tail", region, txid, batchId, index, sinceMs])));
}

export function decodeTailCursor(cursor: string): TailPosition | null {
  const parsed = tailSchema.safeParse(decodeJson(cursor));
  if (!parsed.success) return null;
  const [, region, txid, batchId, index, sinceMs] = parsed.data;
  return { region, txid, batchId, index, sinceMs };
}

function decodeJson(cursor: string): unknown {
  const bytes = fromBase64Url(cursor);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** Where a device list stopped: the last device's `lastSeen` and id (the list's sort key). */
export type DevicePosition = { lastSeenMs: number; deviceId: string };

const deviceCursorSchema = z.tuple([
  z.literal("dev"),
  z.int().min(tsMsMin).max(tsMsMax),
  z.string().min(1).max(limits.idLengthMax),
]);

export function encodeDeviceCursor(position: DevicePosition): string {
  return toBase64Url(utf8(JSON.stringify(["dev", position.lastSeenMs, position.deviceId])));
}

export function decodeDeviceCursor(cursor: string): DevicePosition | null {
  const parsed = deviceCursorSchema.safeParse(decodeJson(cursor));
  if (!parsed.success || parsed.data[2].includes("\u0000")) return null;
  return { lastSeenMs: parsed.data[1], deviceId: parsed.data[2] };
}
