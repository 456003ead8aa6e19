/**
 * The storage side of replication, behind one interface like BatchStore: sealed batches out and
 * in, the outbox, digests, and control-plane state. regional/replication/ is its only user.
 */
import type { BatchKey } from "../../shared/batch.ts";
import type {
  BatchVersion,
  Bucket,
  BucketDigest,
  ControlState,
  ReplicaOutcome,
  SealedBatch,
} from "../../shared/replication.ts";
import type { Result } from "../../shared/result.ts";
import type { StoreDeps } from "./batch-store.ts";
import type { IntegrityFailure } from "./codec.ts";
import { exportControl, mergeControl } from "./control.ts";
import { bucketDigests, bucketEntries } from "./digests.ts";
import {
  type Backoff,
  claimOutbox,
  completeOutbox,
  type OutboxEntry,
  outboxBacklog,
  type PeerBacklog,
  retryOutbox,
} from "./outbox.ts";
import { applyReplica, loadSealed } from "./replica.ts";

export interface ReplicaStore {
  loadSealed(keys: BatchKey[]): Promise<SealedBatch[]>;
  apply(batch: SealedBatch): Promise<Result<ReplicaOutcome, IntegrityFailure>>;
  claim(peer: string, limit: number, leaseMs: number): Promise<OutboxEntry[]>;
  complete(peer: string, keys: BatchKey[]): Promise<void>;
  retry(peer: string, keys: BatchKey[], backoff: Backoff): Promise<void>;
  backlog(): Promise<Map<string, PeerBacklog>>;
  digests(): Promise<BucketDigest[]>;
  entries(buckets: Bucket[]): Promise<BatchVersion[]>;
  exportControl(): Promise<ControlState>;
  mergeControl(state: ControlState): Promise<void>;
}

export function createReplicaStore(deps: StoreDeps): ReplicaStore {
  return {
    loadSealed: (keys) => loadSealed(deps, keys),
    apply: (batch) => applyReplica(deps, batch),
    claim: (peer, limit, leaseMs) => claimOutbox(deps, peer, limit, leaseMs),
    complete: (peer, keys) => completeOutbox(deps, peer, keys),
    retry: (peer, keys, backoff) => retryOutbox(deps, peer, keys, backoff),
    backlog: () => outboxBacklog(deps),
    digests: () => bucketDigests(deps),
    entries: (buckets) => bucketEntries(deps, buckets),
    exportControl: () => exportControl(deps),
    mergeControl: (state) => mergeControl(deps, state),
  };
}
