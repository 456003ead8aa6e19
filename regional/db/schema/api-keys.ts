/**
 * App keys, stored only as SHA-256 hashes (see shared/keys.ts). Keys verify themselves at the
 * edge; this table exists for listing, for revocation (which the edge polls), and so a region
 * checks the read key of every read the edge forwards by itself.
 */
import { index, pgTable, text } from "drizzle-orm/pg-core";
import { keyKinds } from "../../../shared/keys.ts";
import { timestampMs } from "./columns.ts";

export const apiKeys = pgTable(
  "api_keys",
  {
    hash: text("hash").primaryKey(),
    appId: text("app_id").notNull(),
    kind: text("kind", { enum: keyKinds }).notNull(),
    label: text("label").notNull(),
    createdAt: timestampMs("created_at").notNull().defaultNow(),
    revokedAt: timestampMs("revoked_at"),
  },
  (table) => [index("api_keys_app_idx").on(table.appId)],
);
