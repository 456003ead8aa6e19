/**
 * Anti-entropy with one peer: pull its control-plane state (apps, keys, revocations) and merge
 * it; compare per app-hour digests; for the buckets that differ, list both sides' versions and
 * repair both ways: push what the peer lacks (or holds in a losing version) and fetch what this
 * region lacks. A region restored from an old backup, or one whose outbox was lost, converges by
 * this alone. Repairs are applied like replicas, never queued in the outbox, so nothing loops.
 *
 * Only what settled `settleMs` ago is compared: the hours that ended before then, and of the hour
 * it falls in, the minutes that did. A batch in flight (sent to the quorum, in the outbox, waiting
 * out a backoff) is replication's to deliver, and would otherwise make the current bucket differ
 * on every pass under load; it is compared on a later pass once its minute has settled. Minutes,
 * not just hours, because an origin that goes down can leave a batch with two regions and not the
 * third; only anti-entropy brings it there, and a reader sent to the third should not wait for the
 * hour to end. The digests compared are those kept on write (format 2), so a pass costs what the
 * buckets cost, not what the table holds. A peer of the previous version answers the hours only
 * (this region then compares hours only), or format 1, and then this region computes its own the
 * previous way to compare (a rolling upgrade).
 */
import type { BatchKey } from "../../shared/batch.ts";
import type { Clock } from "../../shared/clock.ts";
import { internalPaths, type Region } from "../../shared/regions.ts";
import {
  type BatchVersion,
  type Bucket,
  type BucketDigest,
  controlStateSchema,
  digestsFormat,
  digestsPath,
  digestsResponseSchema,
  entriesResponseSchema,
  fetchResponseSchema,
  packReplicateCalls,
  replicateBatchesMax,
  replicateResponseSchema,
  versionWins,
} from "../../shared/replication.ts";
import type { ReplicaStore } from "../store/types.ts";
import type { PeerClient, PeerFailure } from "./peers.ts";

export type RepairReport = {
  peer: string;
  /** Buckets whose digests were compared (on either side), and those that differed. */
  bucketsCompared: number;
  bucketsDiffering: number;
  pushed: number;
  pulled: number;
};

const bucketsPerCall = 500;
const hourMs = 3_600_000;
const minuteMs = 60_000;

export async function antiEntropy(options: {
  region: string;
  peer: Region;
  peers: PeerClient;
  replicas: ReplicaStore;
  clock: Clock;
  settleMs: number;
}): Promise<{ ok: true; report: RepairReport } | { ok: false; error: PeerFailure }> {
  const { region, peer, peers, replicas, clock, settleMs } = options;
  const control = await peers.call(peer, "GET", internalPaths.syncControl, controlStateSchema);
  if (!control.ok) return control;
  await replicas.mergeControl(control.value);

  // What settled at least `settleMs` ago; both sides answer the same buckets.
  const settled = clock.now() - settleMs;
  const before = { hour: Math.floor(settled / hourMs), minute: Math.floor(settled / minuteMs) };
  let remote = await peers.call(peer, "GET", digestsPath(internalPaths.syncDigests, before), digestsResponseSchema);
  if (!remote.ok && remote.error.kind === "refused" && remote.error.status === 400) {
    // A peer of the previous version knows no `beforeMinute`: the hours alone.
    remote = await peers.call(
      peer,
      "GET",
      digestsPath(internalPaths.syncDigests, { hour: before.hour }),
      digestsResponseSchema,
    );
  }
  if (!remote.ok) return remote;
  const local =
    remote.value.format !== digestsFormat
      ? await replicas.digests()
      : await replicas.heldDigests(remote.value.beforeMinute === before.minute ? before : { hour: before.hour });
  const differing = differingBuckets(local, remote.value.buckets);
  const report: RepairReport = {
    peer: peer.name,
    bucketsCompared: new Set([...local, ...remote.value.buckets].map(bucketId)).size,
    bucketsDiffering: differing.length,
    pushed: 0,
    pulled: 0,
  };

  for (let start = 0; start < differing.length; start += bucketsPerCall) {
    const buckets = differing.slice(start, start + bucketsPerCall);
    const listed = await peers.call(peer, "POST", internalPaths.syncEntries, entriesResponseSchema, { buckets });
    if (!listed.ok) return listed;
    const { push, pull } = plan(await replicas.entries(buckets), listed.value.entries);

    for (let at = 0; at < push.length; at += replicateBatchesMax) {
      const sealed = await replicas.loadSealed(push.slice(at, at + replicateBatchesMax));
      for (const batches of packReplicateCalls(sealed)) {
        const sent = await peers.call(peer, "POST", internalPaths.replicate, replicateResponseSchema, {
          from: region,
          batches,
        });
        if (!sent.ok) return sent;
        report.pushed += batches.length;
      }
    }
    for (let at = 0; at < pull.length; at += replicateBatchesMax) {
      const items = pull.slice(at, at + replicateBatchesMax);
      const fetched = await peers.call(peer, "POST", internalPaths.syncFetch, fetchResponseSchema, { items });
      if (!fetched.ok) return fetched;
      for (const batch of fetched.value.batches) {
        const applied = await replicas.apply(batch);
        if (applied.ok) report.pulled += 1;
      }
    }
  }
  return { ok: true, report };
}

function bucketId(bucket: Bucket): string {
  return `${bucket.appId}:${bucket.hour}:${bucket.minute ?? ""}`;
}

export function differingBuckets(local: BucketDigest[], remote: BucketDigest[]): Bucket[] {
  const mine = new Map(local.map((bucket) => [bucketId(bucket), bucket]));
  const theirs = new Map(remote.map((bucket) => [bucketId(bucket), bucket]));
  const differing: Bucket[] = [];
  for (const [id, bucket] of mine) if (theirs.get(id)?.hash !== bucket.hash) differing.push(bucket);
  for (const [id, bucket] of theirs) if (!mine.has(id)) differing.push(bucket);
  return differing.map(({ appId, hour, minute }) => (minute === undefined ? { appId, hour } : { appId, hour, minute }));
}

/** Which versions each side should send the other: the missing ones, and the winning ones. */
export function plan(local: BatchVersion[], remote: BatchVersion[]): { push: BatchKey[]; pull: BatchKey[] } {
  const id = (version: BatchVersion) => `${version.appId}/${version.batchId}`;
  const mine = new Map(local.map((version) => [id(version), version]));
  const theirs = new Map(remote.map((version) => [id(version), version]));
  const key = ({ appId, batchId }: BatchVersion) => ({ appId, batchId });
  const push = local.filter((version) => {
    const other = theirs.get(id(version));
    return !other || versionWins(version, other);
  });
  const pull = remote.filter((version) => {
    const other = mine.get(id(version));
    return !other || versionWins(version, other);
  });
  return { push: push.map(key), pull: pull.map(key) };
}
