/**
 * The acknowledgement rule: a batch committed here is sent to every peer at once, and the upload
 * is answered as soon as `ackQuorum` regions (this one included) hold it, or as failed when the
 * quorum cannot be reached within `quorumTimeoutMs`. Sends still in flight carry on after the
 * answer; what none of them confirms stays in the outbox.
 */
import type { BatchKey } from "../../shared/batch.ts";
import type { PeerClient } from "./peers.ts";
import type { Shipper } from "./ship.ts";

export type QuorumOutcome = { reached: boolean; regions: string[] };

export function awaitQuorum(options: {
  region: string;
  key: BatchKey;
  peers: PeerClient;
  shipper: Shipper;
  ackQuorum: number;
  quorumTimeoutMs: number;
  requestId?: string;
  onError: (error: unknown) => void;
}): Promise<QuorumOutcome> {
  const { region, key, peers, shipper, ackQuorum, quorumTimeoutMs, requestId, onError } = options;
  const holders = [region];
  if (holders.length >= ackQuorum) return Promise.resolve({ reached: true, regions: holders });
  return new Promise((resolve) => {
    let pending = peers.peers.length;
    let settled = false;
    const finish = (reached: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ reached, regions: [...holders] });
    };
    const timer = setTimeout(() => finish(false), quorumTimeoutMs);
    for (const peer of peers.peers) {
      shipper
        .ship(peer, [key], requestId)
        .then((confirmed) => {
          if (confirmed.length > 0) holders.push(peer.name);
        })
        .catch(onError)
        .finally(() => {
          pending -= 1;
          if (holders.length >= ackQuorum) finish(true);
          else if (pending === 0) finish(false);
        });
    }
  });
}
