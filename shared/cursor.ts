/**
 * Where a log read stopped. Lines are ordered by (time, batch id, index in the batch); a cursor
 * is the position of the last line a page covered, and the next page starts strictly after it.
 * Clients treat it as opaque (base64url of a small JSON array). Both tiers decode it: the edge to
 * refuse a forged one before any region sees it, a region to read from it. Only positions a
 * page can end at decode: a line time in the accepted range, a batch id (or "" for "before every
 * line at this time") and an index within a batch (-1 with "").
 */
import { z } from "zod";
import { batchIdSchema, tsMsMax, tsMsMin } from "./batch.ts";
import { fromBase64Url, toBase64Url, utf8 } from "./encoding.ts";
import { limits } from "./limits.ts";

export type LogPosition = { ts: number; batchId: string; index: number };

const positionSchema = z.tuple([
  z.int().min(tsMsMin).max(tsMsMax),
  z.union([batchIdSchema, z.literal("")]),
  z
    .int()
    .min(-1)
    .max(limits.batchLinesMax - 1),
]);

export function encodeCursor(position: LogPosition): string {
  return toBase64Url(utf8(JSON.stringify([position.ts, position.batchId, position.index])));
}

/** The position a cursor names, or null when it is not one this service wrote. */
export function decodeCursor(cursor: string): LogPosition | null {
  const bytes = fromBase64Url(cursor);
  if (!bytes) return null;
  try {
    const parsed = positionSchema.safeParse(
      JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes)),
    );
    if (!parsed.success) return null;
    const [ts, batchId, index] = parsed.data;
    return { ts, batchId, index };
  } catch {
    return null;
  }
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
