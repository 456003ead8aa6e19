/**
 * Apps known to this region, as registered by the admin CLI (same rows in every region), with their
 * settings. Settings change by last writer wins on `settingsUpdatedAt` (store/settings.ts), so
 * regions that heard of a change late converge on the same value.
 */
import { sql } from "drizzle-orm";
import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { retentionDaysDefault } from "../../../shared/lifecycle.ts";
import { timestampMs } from "./columns.ts";

export const apps = pgTable("apps", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: timestampMs("created_at").notNull().defaultNow(),
  /** Days a batch is kept after it was received (store/partitions.ts removes it after). */
  retentionDays: integer("retention_days").notNull().default(retentionDaysDefault),
  /** When the settings were last changed; the epoch for an app whose settings nobody set, so any change wins. */
  settingsUpdatedAt: timestampMs("settings_updated_at").notNull().default(sql`'epoch'`),
});
