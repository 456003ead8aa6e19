/**
 * The read API the console needs past logs and devices (shared/read.ts): the live tail, the
 * volume histogram and the regions view. Queries are validated by the edge and again by a
 * region; answers are zod schemas so the console parses them with the same contract.
 *
 *   GET /v1/tail?after=&device=&level=&levels=&tag=&q=&limit=   TailPage      (read key)
 *   GET /v1/stats/volume?from=&to=&device=&buckets=               VolumeAnswer  (read key)
 *   GET /v1/regions                                               RegionsAnswer (read key)
 */
import { z } from "zod";
import { timestampSchema } from "./batch.ts";
import { decodeTailCursor } from "./cursor.ts";
import { limits } from "./limits.ts";
import { integrityErrorSchema, levelCountsSchema, lineFilterShape, logRecordSchema } from "./read.ts";
import { storableString } from "./storable.ts";

// ---- Live tail ----

/**
 * `after` is the `nextCursor` of the previous poll; without it the tail starts now (an empty page
 * and a cursor). Lines come in the order their batches arrived, each batch's lines in its order.
 */
export const tailQuerySchema = z.strictObject({
  ...lineFilterShape,
  after: z
    .string()
    .min(1)
    .max(512)
    .refine((cursor) => decodeTailCursor(cursor) !== null, "not a tail cursor this API returned")
    .optional(),
});
export type TailQuery = z.output<typeof tailQuerySchema>;

/** A poll's lines and where the next poll goes on: `nextCursor` is never null. */
export const tailPageSchema = z.object({
  logs: z.array(logRecordSchema),
  nextCursor: z.string(),
  integrityErrors: z.array(integrityErrorSchema),
});
export type TailPage = z.infer<typeof tailPageSchema>;

// ---- Volume histogram ----

/**
 * `from` (inclusive) and `to` (exclusive) default to the last 24 h; the window is cut into
 * `buckets` equal buckets of `bucketMs` (rounded up to whole milliseconds, so the last bucket may
 * end past `to`). The edge forwards the window it resolved, so every region counts the same one.
 */
export const volumeQuerySchema = z
  .strictObject({
    from: timestampSchema.optional(),
    to: timestampSchema.optional(),
    device: storableString().min(1).max(limits.idLengthMax).optional(),
    buckets: z.coerce.number().int().min(1).max(limits.volumeBucketsMax).default(limits.volumeBucketsDefault),
  })
  .transform((query, ctx) => {
    const to = query.to ?? Date.now();
    const from = query.from ?? to - limits.volumeWindowMsDefault;
    if (from >= to) {
      ctx.addIssue({ code: "custom", message: "must be before to", path: ["from"] });
      return z.NEVER;
    }
    if (to - from > limits.volumeWindowMsMax) {
      ctx.addIssue({ code: "custom", message: `window longer than ${limits.volumeWindowMsMax} ms`, path: ["from"] });
      return z.NEVER;
    }
    return { ...query, from, to };
  });
export type VolumeQuery = z.output<typeof volumeQuerySchema>;

export const volumeBucketSchema = z.object({ start: z.string(), counts: levelCountsSchema });

/**
 * Lines per level per bucket, from the clear per-batch metadata (no batch is decrypted): a
 * batch's lines all count in the bucket of its first line, so `total` is exactly the lines of the
 * batches whose first line is in the window.
 */
export const volumeAnswerSchema = z.object({
  from: z.string(),
  to: z.string(),
  bucketMs: z.int(),
  buckets: z.array(volumeBucketSchema),
  total: levelCountsSchema,
});
export type VolumeAnswer = z.infer<typeof volumeAnswerSchema>;

// ---- Regions ----

export const regionViewSchema = z.object({
  name: z.string(),
  status: z.enum(["unknown", "up", "degraded", "draining", "down"]),
  /** Batches the region still owes its peers, as its health probe last said. */
  backlog: z.int().nullable(),
  lastContactAt: z.string().nullable(),
  latencyMs: z.number().nullable(),
  /** The region's digest of this app's batches, or null when it did not answer. */
  digest: z.string().nullable(),
  batches: z.int().nullable(),
});
export type RegionView = z.infer<typeof regionViewSchema>;

export const regionsAnswerSchema = z.object({
  /** The region that served this request's digest first (the one reads go to now). */
  servedBy: z.string().nullable(),
  regions: z.array(regionViewSchema),
  /** True when every region answered with the same digest; false otherwise. */
  digestsAgree: z.boolean(),
  checkedAt: z.string(),
});
export type RegionsAnswer = z.infer<typeof regionsAnswerSchema>;

/** What a region answers for one app's digest (internal: the edge builds RegionsAnswer from it). */
export const appDigestSchema = z.object({ region: z.string(), batches: z.int(), digest: z.string() });
export type AppDigest = z.infer<typeof appDigestSchema>;
