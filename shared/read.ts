/**
 * The read API (v1): the query a client sends to `GET /v1/logs`, which the edge validates and
 * forwards to a region as is, and the shapes both tiers answer with. Text parameters are storable
 * text (a NUL in `device` would reach the database), and a cursor must decode to a position.
 */
import { z } from "zod";
import { type Level, levelSchema, timestampSchema } from "./batch.ts";
import { decodeCursor } from "./cursor.ts";
import { limits } from "./limits.ts";
import { storableString } from "./storable.ts";

export const logQuerySchema = z.strictObject({
  device: storableString().min(1).max(limits.idLengthMax).optional(),
  from: timestampSchema.optional(),
  to: timestampSchema.optional(),
  level: levelSchema.optional(),
  q: storableString().min(1).max(limits.shortFieldLengthMax).optional(),
  limit: z.coerce.number().int().min(1).max(limits.readLimitMax).default(limits.readLimitDefault),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .refine((cursor) => decodeCursor(cursor) !== null, "not a cursor this API returned")
    .optional(),
});
export type LogQuery = z.infer<typeof logQuerySchema>;

/** Query parameters arrive as text; epoch milliseconds must become numbers before parsing. */
export function queryToInput(params: Record<string, string>): Record<string, unknown> {
  const input: Record<string, unknown> = { ...params };
  for (const key of ["from", "to"] as const) {
    const value = params[key];
    if (value !== undefined && /^\d+$/.test(value)) input[key] = Number(value);
  }
  return input;
}

/** The query as forwarded to a region: times as epoch milliseconds. */
export function queryToParams(query: LogQuery): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  return params;
}

export type LogRecord = {
  ts: string;
  deviceId: string;
  batchId: string;
  level: Level;
  tag?: string;
  method?: string;
  file?: string;
  line?: number;
  text: string;
  attrs?: Record<string, unknown>;
};

/** A stored batch that could not be read back: reported by id, never returned as garbage. */
export type IntegrityError = { batchId: string; code: "INTEGRITY"; message: string };

export type LogPage = { logs: LogRecord[]; nextCursor: string | null; integrityErrors: IntegrityError[] };

export type DeviceRecord = {
  id: string;
  name: string | null;
  model: string | null;
  os: string | null;
  osVersion: string | null;
  appVersion: string | null;
  appBuild: string | null;
  locale: string | null;
  firstSeen: string;
  lastSeen: string;
};

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
