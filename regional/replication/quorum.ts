/**
 * The acknowledgement rule: a batch committed here is sent to every peer at once, and the upload
 * is answered as soon as `ackQuorum` regions (this one included) hold it, or as failed when the
 * quorum cannot be reached within `quorumTimeoutMs`. Sends still in flight carry on after the
 * answer; what none of them confirms is the outbox worker's after the lease (store/marks.ts).
 */
import type { Region } from "../../shared/regions.ts";

export type QuorumOutcome = { reached: boolean; regions: string[] };

export function awaitQuorum(options: {
  region: string;
  peers: readonly Region[];
  /** Sends the batch to one peer: whether the peer confirmed it holds it. */
  send: (peer: Region) => Promise<boolean>;
  ackQuorum: number;
  quorumTimeoutMs: number;
  onError: (error: unknown) => void;
}): Promise<QuorumOutcome> {
  const { region, peers, send, ackQuorum, quorumTimeoutMs, onError } = options;
  const holders = [region];
  if (holders.length >= ackQuorum) return Promise.resolve({ reached: true, regions: holders });
  return new Promise((resolve) => {
    let pending = peers.length;
    let settled = false;
    const finish = (reached: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ reached, regions: [...holders] });
    };
    const timer = setTimeout(() => finish(false), quorumTimeoutMs);
    for (const peer of peers) {
      send(peer)
        .then((confirmed) => {
          if (confirmed) holders.push(peer.name);
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
