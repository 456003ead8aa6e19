/**
 * The data-lifecycle API: an app's settings (retention), erasure of a device or a whole app, and
 * usage. Bodies and queries are validated by the edge and again by a region; answers are zod
 * schemas so the console parses them with the same contract.
 *
 *   GET    /v1/app                  AppSettingsAnswer  (read key)    the app and its settings
 *   PATCH  /v1/app    {retentionDays}  AppSettingsAnswer  (manage key)
 *   DELETE /v1/devices/:deviceId    202 ErasureReceipt (manage key)  erase one device's data
 *   GET    /v1/erasures/:erasureId  ErasureStatus      (read key)    each region's progress
 *   GET    /v1/usage?from=&to=      UsageAnswer        (read key)    lines and bytes kept per day
 *
 * An app is erased as a whole with the admin CLI (`admin apps delete <app>`), which answers the
 * same receipt.
 */
import { z } from "zod";
import { limits } from "./limits.ts";
import { storableString } from "./storable.ts";

// ---- Settings ----

/** How long an app's batches are kept when nobody set it. */
export const retentionDaysDefault = 30;
/**
 * The longest retention: batches are stored in one partition per day they expire on, so this bounds
 * how many partitions a region holds (regional/store/partitions.ts).
 */
export const retentionDaysMax = 365;

export const retentionDaysSchema = z.number().int().min(1).max(retentionDaysMax);

/** `PATCH /v1/app`: the settings to change; at least one. */
export const appSettingsPatchSchema = z
  .strictObject({ retentionDays: retentionDaysSchema.optional() })
  .refine((patch) => Object.keys(patch).length > 0, 'expected at least one setting, e.g. {"retentionDays": 30}');
export type AppSettingsPatch = z.infer<typeof appSettingsPatchSchema>;

export const appSettingsSchema = z.object({
  id: z.string(),
  name: z.string(),
  retentionDays: retentionDaysSchema,
  /**
   * When the settings last changed (ISO 8601); the latest change wins between regions. Null while
   * the app still has the defaults.
   */
  updatedAt: z.string().nullable(),
});
export type AppSettings = z.infer<typeof appSettingsSchema>;

export const appSettingsAnswerSchema = z.object({ app: appSettingsSchema });

/**
 * What the edge (or the admin CLI) sends every region to change an app's settings: the new value
 * and when the writer decided it. Each region keeps the change with the latest `updatedAt` (a tie
 * keeps the longer retention), and anti-entropy carries it to a region that missed it.
 */
export const appSettingsChangeSchema = z.strictObject({
  retentionDays: retentionDaysSchema,
  updatedAt: z.iso.datetime({ offset: true }),
});
export type AppSettingsChange = z.infer<typeof appSettingsChangeSchema>;
export type AppSettingsAnswer = z.infer<typeof appSettingsAnswerSchema>;

// ---- Erasure ----

export const erasureIdSchema = z.string().regex(/^er_[0-9a-f]{32}$/, "an erasure id (er_…)");

/** A device's id in a path: the same bounds as in a batch. */
export const erasedDeviceIdSchema = storableString().min(1).max(limits.idLengthMax);

/** What is erased: one device of an app (`deviceId`), or the whole app (`deviceId` null). */
export const erasureSchema = z.object({
  id: erasureIdSchema,
  appId: z.string(),
  deviceId: z.string().nullable(),
  /** Every batch of the device (or app) received before this time is erased, in every region. */
  requestedAt: z.string(),
});
export type Erasure = z.infer<typeof erasureSchema>;

/**
 * The body of `PUT internalPaths.erasure` / `adminPaths.erasure`: the erasure but its ids, which
 * are in the path. A region records the first body it gets under an id and keeps it.
 */
export const erasureRequestSchema = z.strictObject({
  deviceId: erasedDeviceIdSchema.nullable(),
  requestedAt: z.iso.datetime({ offset: false }),
});
export type ErasureRequest = z.infer<typeof erasureRequestSchema>;

/** A new erasure id: `er_` and 128 random bits in hex. */
export function newErasureId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `er_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** `DELETE /v1/devices/:deviceId` (202) and `admin apps delete`: the receipt to follow it by. */
export const erasureReceiptSchema = z.object({ erasure: erasureSchema, statusUrl: z.string() });
export type ErasureReceipt = z.infer<typeof erasureReceiptSchema>;

export const erasureRegionStateSchema = z.object({
  region: z.string(),
  /** `pending`: the region has not applied it yet (or does not know it yet); `unreachable`: no answer. */
  state: z.enum(["completed", "pending", "unreachable"]),
  completedAt: z.string().nullable(),
});
export type ErasureRegionState = z.infer<typeof erasureRegionStateSchema>;

/** `GET /v1/erasures/:id`: each region's state; `completed` once every region has applied it. */
export const erasureStatusSchema = z.object({
  erasure: erasureSchema,
  regions: z.array(erasureRegionStateSchema),
  completed: z.boolean(),
});
export type ErasureStatus = z.infer<typeof erasureStatusSchema>;

/** What one region answers about one erasure (`internalPaths.erasure`): 404 when it does not know it. */
export const regionErasureSchema = z.object({ erasure: erasureSchema, completedAt: z.string().nullable() });
export type RegionErasure = z.infer<typeof regionErasureSchema>;

// ---- Usage ----

const daySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "a day, YYYY-MM-DD")
  // 2026-02-30 matches the pattern but is no day.
  .refine((day) => {
    const start = new Date(`${day}T00:00:00Z`);
    return !Number.isNaN(start.getTime()) && start.toISOString().startsWith(day);
  }, "not a day of the calendar");

/** `from` and `to` are days (UTC, inclusive); the default is the app's whole retention. */
export const usageQuerySchema = z
  .strictObject({ from: daySchema.optional(), to: daySchema.optional() })
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, {
    message: "from is after to",
    path: ["from"],
  });
export type UsageQuery = z.infer<typeof usageQuerySchema>;

/**
 * One day of receipt: what the app stored that day and still keeps, from clear metadata only, and
 * the day retention removes it.
 */
export const usageDaySchema = z.object({
  day: daySchema,
  batches: z.number().int().nonnegative(),
  lines: z.number().int().nonnegative(),
  storedBytes: z.number().int().nonnegative(),
  expiresOn: daySchema,
});
export type UsageDay = z.infer<typeof usageDaySchema>;

export const usageAnswerSchema = z.object({
  retentionDays: retentionDaysSchema,
  days: z.array(usageDaySchema),
  totals: z.object({
    batches: z.number().int().nonnegative(),
    lines: z.number().int().nonnegative(),
    storedBytes: z.number().int().nonnegative(),
  }),
});
export type UsageAnswer = z.infer<typeof usageAnswerSchema>;
