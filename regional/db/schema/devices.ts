/**
 * Devices seen per app, kept up to date by every stored batch (in the same transaction): the
 * latest device info, the earliest line time and the latest upload time.
 */
import { index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
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
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.deviceId] }),
    index("devices_app_last_seen_idx").on(table.appId, table.lastSeen),
  ],
);
