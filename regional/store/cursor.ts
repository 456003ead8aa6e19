/**
 * Where a log read stopped. Lines are ordered by (time, batch id, index in the batch); a cursor
 * is the position of the last line a page covered, and the next page starts strictly after it.
 * Clients treat it as opaque (base64url of a small JSON array).
 */
import { z } from "zod";
import { fromBase64Url, toBase64Url, utf8 } from "../../shared/encoding.ts";
import { limits } from "../../shared/limits.ts";

export type LogPosition = { ts: number; batchId: string; index: number };

const positionSchema = z.tuple([
  z.int().min(0),
  z.string().max(limits.idLengthMax),
  z
    .int()
    .min(-1)
    .max(2 ** 31 - 1),
]);

export function encodeCursor(position: LogPosition): string {
  return toBase64Url(utf8(JSON.stringify([position.ts, position.batchId, position.index])));
}

/** The position a cursor names, or null when it is not one this service wrote. */
export function decodeCursor(cursor: string): LogPosition | null {
  const bytes = fromBase64Url(cursor);
  if (!bytes) return null;
  try {
    const parsed = positionSchema.safeParse(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)));
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
