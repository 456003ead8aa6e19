/**
 * Devices seen per app, kept up to date by every stored batch (in the same transaction): the
 * latest device info, the earliest and latest line times, its lines per level, and the longest time
 * span of any of its batches (what a keyset read must look back over, store/log-scan.ts).
 */
import { bigint, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { timestampMs } from "./columns.ts";

export const devices = pgTable(
  "devices",
  {
    appId: text("app_id").notNull(),
    deviceId: text("device_id").notNull(),
    name: text("name"),
    model: text("model"),
    os: text("os"),
    osVersion: text("os_version"),
    appVersion: text("app_version"),
    appBuild: text("app_build"),
    locale: text("locale"),
    firstSeen: timestampMs("first_seen").notNull(),
    lastSeen: timestampMs("last_seen").notNull(),
    traceCount: bigint("trace_count", { mode: "number" }).notNull().default(0),
    debugCount: bigint("debug_count", { mode: "number" }).notNull().default(0),
    infoCount: bigint("info_count", { mode: "number" }).notNull().default(0),
    warnCount: bigint("warn_count", { mode: "number" }).notNull().default(0),
    errorCount: bigint("error_count", { mode: "number" }).notNull().default(0),
    fatalCount: bigint("fatal_count", { mode: "number" }).notNull().default(0),
    batchSpanMsMax: integer("batch_span_ms_max").notNull().default(0),
    /** The latest expiry of its batches: past it the device has nothing left and its row goes too. */
    expiresAt: timestampMs("expires_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.deviceId] }),
    index("devices_app_last_seen_idx").on(table.appId, table.lastSeen),
    index("devices_app_span_idx").on(table.appId, table.batchSpanMsMax),
    index("devices_expires_at_idx").on(table.expiresAt),
  ],
);
