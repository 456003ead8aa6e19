/** The regional database schema; drizzle-kit generates regional/db/migrations from it. */
export { apiKeys } from "./api-keys.ts";
export { apps } from "./apps.ts";
export { batches } from "./batches.ts";
export { bucketDigests } from "./bucket-digests.ts";
export { deviceSettings } from "./device-settings.ts";
export { devices } from "./devices.ts";
export { issueDevices, issueGroups, issueOccurrences, webhookConfigs, webhookQueue } from "./issues.ts";
export { outbox } from "./outbox.ts";
export { replicationMarks } from "./replication-marks.ts";
