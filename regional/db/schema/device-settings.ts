/**
 * Remote logging control (shared/device-settings.ts): one row per app and scope (`app` with value
 * "", `version` with an app version, `device` with a device id). The same rows in every region: a
 * change is kept when it is later than the row (store/device-settings.ts), whoever sends it.
 */
import { boolean, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { levels } from "../../../shared/batch.ts";
import { settingScopes } from "../../../shared/device-settings.ts";
import { timestampMs } from "./columns.ts";

export const deviceSettings = pgTable(
  "device_settings",
  {
    appId: text("app_id").notNull(),
    scope: text("scope", { enum: settingScopes }).notNull(),
    value: text("value").notNull(),
    enabled: boolean("enabled").notNull(),
    minLevel: text("min_level", { enum: levels }).notNull(),
    updatedAt: timestampMs("updated_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.scope, table.value] })],
);
