/**
 * Issue groups (store/issues.ts): crashes, reported issues and feedback grouped per app by a keyed
 * signature. Nothing of their content is in clear: the title and one sample are sealed under the
 * device key of the occurrence that opened the group (so erasing that device erases them too).
 * Every region computes the same groups from the same batches; the id is derived from the
 * signature, so a status change sent to every region names the same group everywhere.
 *
 * `issue_devices` holds one row per (group, device), so "devices affected" is a count kept exact
 * by inserts that conflict; `issue_occurrences` one row per line, keyed by the line's id, which is
 * what makes recording a batch twice (a duplicate, a replica of a batch held) change nothing.
 */
import { bigint, index, pgTable, primaryKey, serial, text } from "drizzle-orm/pg-core";
import { bytea, timestampMs } from "./columns.ts";

export const issueGroups = pgTable(
  "issue_groups",
  {
    appId: text("app_id").notNull(),
    id: text("id").notNull(),
    signature: text("signature").notNull(),
    type: text("type", { enum: ["crash", "issue", "feedback"] }).notNull(),
    status: text("status", { enum: ["open", "resolved", "muted"] }).notNull(),
    /** When the status was last set (a PATCH's time, or the arrival that reopened it); null if never. */
    statusUpdatedAt: timestampMs("status_updated_at"),
    count: bigint("count", { mode: "number" }).notNull(),
    devices: bigint("devices", { mode: "number" }).notNull(),
    appVersions: text("app_versions").array().notNull(),
    firstSeen: timestampMs("first_seen").notNull(),
    lastSeen: timestampMs("last_seen").notNull(),
    /** The latest origin receivedAt of an occurrence: a resolve older than it does not stick. */
    lastReceivedAt: timestampMs("last_received_at").notNull(),
    sealedKeyId: text("sealed_key_id").notNull(),
    titleWrapped: bytea("title_wrapped").notNull(),
    titleCiphertext: bytea("title_ciphertext").notNull(),
    sampleWrapped: bytea("sample_wrapped").notNull(),
    sampleCiphertext: bytea("sample_ciphertext").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.id] }),
    index("issue_groups_app_status_idx").on(table.appId, table.status, table.id),
  ],
);

export const issueDevices = pgTable(
  "issue_devices",
  {
    appId: text("app_id").notNull(),
    groupId: text("group_id").notNull(),
    deviceId: text("device_id").notNull(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.groupId, table.deviceId] })],
);

export const issueOccurrences = pgTable(
  "issue_occurrences",
  {
    appId: text("app_id").notNull(),
    batchId: text("batch_id").notNull(),
    lineIndex: bigint("line_index", { mode: "number" }).notNull(),
    groupId: text("group_id").notNull(),
    deviceId: text("device_id").notNull(),
    ts: timestampMs("ts").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.batchId, table.lineIndex] }),
    index("issue_occurrences_group_ts_idx").on(table.appId, table.groupId, table.ts),
  ],
);

/** Per app, where its webhook events go and the secret they are signed with. */
export const webhookConfigs = pgTable("webhook_configs", {
  appId: text("app_id").primaryKey(),
  url: text("url").notNull(),
  secret: text("secret").notNull(),
});

/**
 * Webhook events owed, written in the batch's transaction by its origin region only (replicas
 * never enqueue), so each event is sent once across the cluster. The event names its group; the
 * body (with the title, opened then) is built when sending, so no content waits here in clear.
 */
export const webhookQueue = pgTable(
  "webhook_queue",
  {
    id: serial("id").primaryKey(),
    appId: text("app_id").notNull(),
    event: text("event", { enum: ["issue.created", "issue.reopened", "feedback.created"] }).notNull(),
    groupId: text("group_id").notNull(),
    batchId: text("batch_id").notNull(),
    lineIndex: bigint("line_index", { mode: "number" }).notNull(),
    createdAt: timestampMs("created_at").notNull(),
    attempts: bigint("attempts", { mode: "number" }).notNull().default(0),
    nextAttemptAt: timestampMs("next_attempt_at").notNull(),
  },
  (table) => [index("webhook_queue_next_attempt_idx").on(table.nextAttemptAt)],
);
