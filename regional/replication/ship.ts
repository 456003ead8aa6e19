/**
 * Sending batches this region accepted to one peer: the stored sealed rows go out in calls of at
 * most `replicateBatchesMax` batches and `replicateBodyBytesMax` bytes (the peer's body cap), and
 * each batch the peer confirms (in any outcome: it now holds this
 * version or a winning one) leaves the outbox; the rest back off. Both the upload path (at once,
 * for the quorum) and the outbox worker (later, for everything else) send through here.
 */
import type { BatchKey } from "../../shared/batch.ts";
import { internalPaths, type Region } from "../../shared/regions.ts";
import type { ReplicateRequest } from "../../shared/replication.ts";
import { packReplicateCalls, replicateBatchesMax, replicateResponseSchema } from "../../shared/replication.ts";
import type { Backoff, ReplicaStore } from "../store/types.ts";
import type { PeerClient } from "./peers.ts";

export type Shipper = {
  /** The keys the peer confirmed it holds. */
  ship(peer: Region, keys: BatchKey[], requestId?: string): Promise<BatchKey[]>;
};

export function createShipper(options: {
  region: string;
  replicas: ReplicaStore;
  peers: PeerClient;
  backoff: Backoff;
}): Shipper {
  const { region, replicas, peers, backoff } = options;
  return {
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
        const held: BatchKey[] = [];
        for (const batches of packReplicateCalls(sealed)) {
          const body: ReplicateRequest = { from: region, batches };
          const sent = await peers.call(
            peer,
            "POST",
            internalPaths.replicate,
            replicateResponseSchema,
            body,
            requestId,
          );
          // The peer is unwell: what is not sent yet waits for the backoff like what failed.
          if (!sent.ok) break;
          held.push(...sent.value.results.map(({ appId, batchId }) => ({ appId, batchId })));
        }
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
