/**
 * The store's wiring: builds the two faces of types.ts over one database. Each method is the
 * function that implements it, given the store's dependencies; nothing here forwards or adapts,
 * so this file is also the map from a method to the file that holds its SQL.
 *
 *   put              put-batch.ts   seal, then insert batches in groups with their devices
 *   readLogs         read-logs.ts   a page of lines either way, or around one (log-scan.ts merges)
 *   devices          devices.ts     the device list (device rows are upserted with each batch)
 *   volume           volume.ts      lines per level per time bucket, from clear metadata
 *   tail             tail.ts        lines in arrival order, for the live tail
 *   usage            usage.ts       lines and stored bytes kept per day of receipt
 *   …Settings        settings.ts    retention, last writer wins; a change re-files the app's batches
 *   …DeviceSetting…  device-settings.ts  remote logging control per app, version, device; latest wins
 *   expire           expire.ts      the lifecycle run: partitions ahead created, expired ones dropped
 *   upsertApp …      apps.ts        apps, key hashes, revocations
 *   loadSealed/apply replica.ts     batches between regions, applied by the convergence rule
 *   claim …          outbox.ts      what each peer is still owed, late (with backoff)
 *   …Mark, owed …    marks.ts       what each peer confirmed, by origin sequence; what a pass must look at
 *   digests/entries  digests.ts     per app-hour summaries for anti-entropy, kept on write (appDigest: one app's)
 *   …Control         control.ts     apps, keys and erasures as anti-entropy exchanges them
 *   erase/erasure    erasure.ts     erasing a device or an app: keys destroyed, rows deleted
 *   issues …         issue-reads.ts issue groups (issues.ts groups them as put and apply store batches)
 *
 * Under them: batch-row.ts (the `batches` row, built and read back in one place), codec.ts (how
 * a batch is sealed), line-heap.ts (read-logs.ts's merge), expiry.ts (when a batch expires, and
 * the lock its writers take) and partitions.ts (the day partitions of `batches`). createRegion (regional/region.ts)
 * calls these once per region.
 */
import { addKey, appKeys, keyByHash, listApps, revokedKeyHashes, revokeKey, upsertApp } from "./apps.ts";
import { exportControl, mergeControl } from "./control.ts";
import { changeDeviceSetting, listDeviceSettings } from "./device-settings.ts";
import { listDevices } from "./devices.ts";
import { appDigest, bucketDigests, bucketEntries, heldDigests } from "./digests.ts";
import { applyErasure } from "./erasure.ts";
import { expire } from "./expire.ts";
import { changeIssueStatus, getIssue, listIssues } from "./issue-reads.ts";
import { advanceMark, backlog, owed, startMarks } from "./marks.ts";
import { claimOutbox, completeOutbox, resumeOutbox, retryOutbox } from "./outbox.ts";
import { putBatch } from "./put-batch.ts";
import { readLogs } from "./read-logs.ts";
import { applyReplica, applyReplicas, loadSealed } from "./replica.ts";
import { appSettings, changeAppSettings } from "./settings.ts";
import { tail } from "./tail.ts";
import type { BatchStore, ReplicaStore, StoreDeps } from "./types.ts";
import { usage } from "./usage.ts";
import { volume } from "./volume.ts";

/** What the routes use. */
export function createBatchStore(deps: StoreDeps): BatchStore {
  return {
    put: putBatch(deps),
    readLogs: readLogs(deps),
    devices: listDevices(deps),
    volume: volume(deps),
    tail: tail(deps),
    usage: usage(deps),
    appSettings: appSettings(deps),
    changeAppSettings: changeAppSettings(deps),
    deviceSettings: listDeviceSettings(deps),
    changeDeviceSetting: changeDeviceSetting(deps),
    expire: expire(deps),
    appDigest: appDigest(deps),
    upsertApp: upsertApp(deps),
    listApps: listApps(deps),
    appKeys: appKeys(deps),
    addKey: addKey(deps),
    keyByHash: keyByHash(deps),
    revokeKey: revokeKey(deps),
    revokedKeyHashes: revokedKeyHashes(deps),
    erase: applyErasure(deps),
    erasure: (appId, erasureId) => deps.keystore.find(appId, erasureId),
    issues: listIssues(deps),
    issue: getIssue(deps),
    changeIssueStatus: changeIssueStatus(deps),
  };
}

/** What replication uses. */
export function createReplicaStore(deps: StoreDeps): ReplicaStore {
  return {
    loadSealed: loadSealed(deps),
    apply: applyReplica(deps),
    applyMany: applyReplicas(deps),
    claim: claimOutbox(deps),
    complete: completeOutbox(deps),
    retry: retryOutbox(deps),
    resume: resumeOutbox(deps),
    startMarks: startMarks(deps),
    advanceMark: advanceMark(deps),
    owed: owed(deps),
    backlog: backlog(deps),
    digests: bucketDigests(deps),
    heldDigests: heldDigests(deps),
    entries: bucketEntries(deps),
    exportControl: exportControl(deps),
    mergeControl: mergeControl(deps),
  };
}
