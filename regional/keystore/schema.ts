/**
 * The key store's schema: a database of its own, apart from the batch data (regional/db/), so a
 * key destroyed here stays destroyed when the batch data folder is restored from a backup, and a
 * backup of the batch data alone never holds the keys that open it. drizzle-kit generates
 * regional/keystore/migrations from this file (drizzle.keystore.config.ts).
 *
 * Three levels of keys: the keyring's key-encryption key (config) wraps each app key; each app
 * key wraps its devices' keys; each device key wraps the data keys of its batches (seal format 3,
 * regional/store/codec.ts). Destroying a device key (or an app key) is the erasure: every copy of
 * the batches sealed under it, in every region, outbox and backup, can no longer be opened.
 */
import { index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { bytea, timestampMs } from "../db/schema/columns.ts";

export const appKeys = pgTable(
  "app_keys",
  {
    appId: text("app_id").notNull(),
    keyId: text("key_id").notNull(),
    /** The keyring key that wraps it (rotation keeps older ones in the keyring). */
    kekId: text("kek_id").notNull(),
    wrappedKey: bytea("wrapped_key").notNull(),
    createdAt: timestampMs("created_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.keyId] })],
);

export const deviceKeys = pgTable(
  "device_keys",
  {
    appId: text("app_id").notNull(),
    deviceId: text("device_id").notNull(),
    keyId: text("key_id").notNull(),
    appKeyId: text("app_key_id").notNull(),
    wrappedKey: bytea("wrapped_key").notNull(),
    createdAt: timestampMs("created_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.keyId] }),
    index("device_keys_device_idx").on(table.appId, table.deviceId, table.createdAt),
  ],
);

/**
 * Erasures known here: the tombstones. `deviceId` null erases the whole app. `completedAt` is when
 * this region finished applying it (keys destroyed, rows deleted); null while it is applying.
 */
export const erasures = pgTable(
  "erasures",
  {
    id: text("id").primaryKey(),
    appId: text("app_id").notNull(),
    deviceId: text("device_id"),
    requestedAt: timestampMs("requested_at").notNull(),
    completedAt: timestampMs("completed_at"),
  },
  (table) => [index("erasures_app_device_idx").on(table.appId, table.deviceId)],
);
