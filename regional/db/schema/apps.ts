/** Apps known to this region, as registered by the admin CLI (same rows in every region). */
import { pgTable, text } from "drizzle-orm/pg-core";
import { timestampMs } from "./columns.ts";

export const apps = pgTable("apps", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: timestampMs("created_at").notNull().defaultNow(),
});
