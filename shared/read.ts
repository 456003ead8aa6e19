/**
 * The read API (v1): what a client sends to `GET /v1/logs` and `GET /v1/devices`, which the edge
 * validates and forwards to a region in normalized form (`queryToParams`), and the shapes both
 * tiers answer with, as zod schemas so a client (the console) parses answers with the same
 * contract. Text parameters are storable text (a NUL in `device` would reach the database), and a
 * cursor must decode to a position. The live tail, the volume histogram and the regions view are
 * in console-api.ts.
 */
import { z } from "zod";
import { batchIdSchema, levelSchema, levels, timestampSchema } from "./batch.ts";
import { decodeCursor, decodeDeviceCursor, orders } from "./cursor.ts";
import { limits } from "./limits.ts";
import { storableString } from "./storable.ts";

/** A set of levels as the query carries it: `error,fatal`; parsed to a sorted, unique list. */
export const levelSetSchema = z
  .string()
  .max(64)
  .transform((text, ctx) => {
    const names = text.split(",").filter((name) => name !== "");
    const parsed = z.array(levelSchema).min(1).safeParse(names);
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: `expected a comma-separated list of ${levels.join(", ")}` });
      return z.NEVER;
    }
    return levels.filter((level) => parsed.data.includes(level));
  });

/** A line's stable id, `<batchId>:<index>` (batch ids may hold ":", so the index is after the last). */
export const lineIdSchema = z
  .string()
  .max(limits.idLengthMax + 8)
  .transform((text, ctx) => {
    const cut = text.lastIndexOf(":");
    const batchId = batchIdSchema.safeParse(text.slice(0, Math.max(cut, 0)));
    const indexText = text.slice(cut + 1);
    const index = Number(indexText);
    if (cut < 0 || !batchId.success || !/^\d{1,4}$/.test(indexText) || index >= limits.batchLinesMax) {
      ctx.addIssue({ code: "custom", message: "expected <batchId>:<index>, a line id this API returned" });
      return z.NEVER;
    }
    return { batchId: batchId.data, index };
  });
export type LineId = z.output<typeof lineIdSchema>;

export function lineId(line: { batchId: string; index: number }): string {
  return `${line.batchId}:${line.index}`;
}

const cursorText = z.string().min(1).max(512);

/** Filters on lines, shared by `GET /v1/logs` and the live tail. */
export const lineFilterShape = {
  device: storableString().min(1).max(limits.idLengthMax).optional(),
  /** The minimum level. */
  level: levelSchema.optional(),
  /** Only these levels (with `level` too, both apply). */
  levels: levelSetSchema.optional(),
  /** The line's tag, exactly. */
  tag: storableString().min(1).max(limits.shortFieldLengthMax).optional(),
  /** A case-insensitive substring of the text. */
  q: storableString().min(1).max(limits.shortFieldLengthMax).optional(),
  limit: z.coerce.number().int().min(1).max(limits.readLimitMax).default(limits.readLimitDefault),
};

export const logQuerySchema = z
  .strictObject({
    ...lineFilterShape,
    from: timestampSchema.optional(),
    to: timestampSchema.optional(),
    /** The order of a first page (default asc); a cursor carries its own (see shared/cursor.ts). */
    order: z.enum(orders).optional(),
    cursor: cursorText.refine((cursor) => decodeCursor(cursor) !== null, "not a cursor this API returned").optional(),
    /** A line id: the page holds the lines around it, half before and half from it on. */
    around: lineIdSchema.optional(),
  })
  .refine((query) => query.cursor === undefined || query.around === undefined, {
    message: "give either cursor or around, not both",
    path: ["around"],
  });
export type LogQuery = z.output<typeof logQuerySchema>;

/** Query parameters arrive as text; epoch milliseconds must become numbers before parsing. */
export function queryToInput(params: Record<string, string>): Record<string, unknown> {
  const input: Record<string, unknown> = { ...params };
  for (const key of ["from", "to"] as const) {
    const value = params[key];
    if (value !== undefined && /^\d+$/.test(value)) input[key] = Number(value);
  }
  return input;
}

/** A parsed query as forwarded to a region, which parses it again: times as epoch milliseconds. */
export function queryToParams(query: Record<string, unknown>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) params.set(key, value.join(","));
    else if (key === "around") params.set(key, lineId(value as LineId));
    else params.set(key, String(value));
  }
  return params;
}

export const logRecordSchema = z.object({
  ts: z.string(),
  deviceId: z.string(),
  batchId: z.string(),
  /** The line's position in its batch: `<batchId>:<index>` is its permanent id. */
  index: z.int(),
  level: levelSchema,
  tag: z.string().optional(),
  method: z.string().optional(),
  file: z.string().optional(),
  line: z.int().optional(),
  text: z.string(),
  attrs: z.record(z.string(), z.unknown()).optional(),
});
export type LogRecord = z.infer<typeof logRecordSchema>;

/** A stored batch that could not be read back: reported by id, never returned as garbage. */
export const integrityErrorSchema = z.object({
  batchId: z.string(),
  code: z.literal("INTEGRITY"),
  message: z.string(),
});
export type IntegrityError = z.infer<typeof integrityErrorSchema>;

/**
 * A page of lines in the order it was read. `nextCursor` goes on the same way (null: nothing
 * more now); `prevCursor` goes back the other way from the page's first line, nearest line first
 * (null on a first page, which starts at the beginning of its filters).
 */
export const logPageSchema = z.object({
  logs: z.array(logRecordSchema),
  nextCursor: z.string().nullable(),
  prevCursor: z.string().nullable(),
  integrityErrors: z.array(integrityErrorSchema),
  /**
   * Batches met on the way whose keys an erasure destroyed (regional/store/erasure.ts): their
   * lines are gone, which is not an integrity error. Present only when there are some.
   */
  erasedBatches: z.array(z.string()).optional(),
});
export type LogPage = z.infer<typeof logPageSchema>;

// ---- Devices ----

export const deviceQuerySchema = z.strictObject({
  /** Case-insensitive substring of the id, name, model, OS or app version. */
  q: storableString().min(1).max(limits.shortFieldLengthMax).optional(),
  cursor: cursorText
    .refine((cursor) => decodeDeviceCursor(cursor) !== null, "not a cursor this API returned")
    .optional(),
  limit: z.coerce.number().int().min(1).max(limits.devicesPageMax).default(limits.devicesPageDefault),
});
export type DeviceQuery = z.output<typeof deviceQuerySchema>;

export const levelCountsSchema = z.object({
  trace: z.int(),
  debug: z.int(),
  info: z.int(),
  warn: z.int(),
  error: z.int(),
  fatal: z.int(),
});
export type LevelCounts = z.infer<typeof levelCountsSchema>;

export const deviceRecordSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  model: z.string().nullable(),
  os: z.string().nullable(),
  osVersion: z.string().nullable(),
  appVersion: z.string().nullable(),
  appBuild: z.string().nullable(),
  locale: z.string().nullable(),
  /** The device's earliest and latest line times. */
  firstSeen: z.string(),
  lastSeen: z.string(),
});
export type DeviceRecord = z.infer<typeof deviceRecordSchema>;

/** A device as the list shows it: its info and how many lines it sent at each level. */
export const deviceSummarySchema = deviceRecordSchema.extend({ counts: levelCountsSchema });
export type DeviceSummary = z.infer<typeof deviceSummarySchema>;

export const devicePageSchema = z.object({ devices: z.array(deviceSummarySchema), nextCursor: z.string().nullable() });
export type DevicePage = z.infer<typeof devicePageSchema>;

/**
 * What a region answers to an accepted batch: `region` is the one that answered, `regions` every
 * region known to hold the batch committed when it answered (at least the ack quorum).
 */
export const batchReceiptSchema = z.object({
  batchId: z.string(),
  region: z.string(),
  regions: z.array(z.string()),
  accepted: z.int().min(0),
  duplicate: z.boolean(),
});
export type BatchReceipt = z.infer<typeof batchReceiptSchema>;
