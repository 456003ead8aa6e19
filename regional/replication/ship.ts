/**
 * Sending batches this region accepted to one peer, in calls of at most `replicateBatchesMax`
 * batches and `replicateBodyBytesMax` bytes (the peer's body cap); the peer confirms each it now
 * holds (in any outcome: this version or a winning one). `send` ships batches as the upload path
 * has them in memory, a whole group per call, and writes nothing; `ship` is the outbox worker's:
 * it reads the stored sealed rows, and each batch confirmed leaves the outbox, the rest back off.
 */
import type { BatchKey } from "../../shared/batch.ts";
import { internalPaths, type Region } from "../../shared/regions.ts";
import type { ReplicateRequest, SealedBatch } from "../../shared/replication.ts";
import { packReplicateCalls, replicateBatchesMax, replicateResponseSchema } from "../../shared/replication.ts";
import type { Backoff, ReplicaStore } from "../store/types.ts";
import type { PeerClient } from "./peers.ts";

export type Shipper = {
  /** Sends these batches as they are; the keys the peer confirmed it holds. */
  send(peer: Region, sealed: readonly SealedBatch[], requestId?: string): Promise<BatchKey[]>;
  /** Sends these outbox entries; the keys the peer confirmed it holds. */
  ship(peer: Region, keys: BatchKey[], requestId?: string): Promise<BatchKey[]>;
};

export function createShipper(options: {
  region: string;
  replicas: ReplicaStore;
  peers: PeerClient;
  backoff: Backoff;
}): Shipper {
  const { region, replicas, peers, backoff } = options;
  async function send(peer: Region, sealed: readonly SealedBatch[], requestId?: string): Promise<BatchKey[]> {
    const held: BatchKey[] = [];
    for (const batches of packReplicateCalls(sealed)) {
      const body: ReplicateRequest = { from: region, batches };
      const sent = await peers.call(peer, "POST", internalPaths.replicate, replicateResponseSchema, body, requestId);
      // The peer is unwell: what is not sent yet waits like what failed.
      if (!sent.ok) break;
      held.push(...sent.value.results.map(({ appId, batchId }) => ({ appId, batchId })));
    }
    return held;
  }
  return {
    send,
    async ship(peer, keys, requestId) {
      const confirmed: BatchKey[] = [];
      for (let start = 0; start < keys.length; start += replicateBatchesMax) {
        const chunk = keys.slice(start, start + replicateBatchesMax);
        const sealed = await replicas.loadSealed(chunk);
        // A batch that expired (or was removed) is owed to nobody: its entry is dropped unsent.
        const loaded = new Set(sealed.map((batch) => `${batch.appId}/${batch.batchId}`));
        const gone = chunk.filter((key) => !loaded.has(`${key.appId}/${key.batchId}`));
        if (gone.length > 0) await replicas.complete(peer.name, gone);
        if (sealed.length === 0) continue;
        const held = await send(peer, sealed, requestId);
        await replicas.complete(peer.name, held);
        confirmed.push(...held);
        // Left out by the peer (it could not open them: a key not rolled out there yet), or not
        // sent because it failed: back off.
        const heldIds = new Set(held.map((key) => `${key.appId}/${key.batchId}`));
        const refused = chunk.filter(
          (key) => loaded.has(`${key.appId}/${key.batchId}`) && !heldIds.has(`${key.appId}/${key.batchId}`),
        );
        if (refused.length > 0) await replicas.retry(peer.name, refused, backoff);
      }
      return confirmed;
    },
  };
}
