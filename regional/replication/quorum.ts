/**
 * The acknowledgement rule: a batch committed here goes to its peers, and the upload is answered
 * as soon as `ackQuorum` regions (this one included) hold it, or as failed when the quorum cannot
 * be reached within `quorumTimeoutMs`. Sends still in flight carry on after the answer; what none
 * of them confirms is the outbox worker's after the lease (store/marks.ts).
 *
 * Only the peers the quorum needs (the first `ackQuorum - 1`, in the order given) are sent the batch
 * at once. The others' copies may wait briefly in their peer's queue and go with the batches
 * arriving after them, one call and one transaction there for several uploads (replicator.ts):
 * when uploads are spaced out, a region otherwise commits, sends and applies each one alone. Once
 * a needed peer fails, every waiting copy is sent at once, so the answer waits for no delay.
 */
import type { Region } from "../../shared/regions.ts";

export type QuorumOutcome = { reached: boolean; regions: string[] };

/** A batch on its way to one peer: whether the peer confirmed it, and a way to send it now if it waits. */
export type Delivery = { confirmed: Promise<boolean>; hurry(): void };

export function awaitQuorum(options: {
  region: string;
  /** In the order to rely on them: the first `ackQuorum - 1` get the batch at once. */
  peers: readonly Region[];
  /** Sends the batch to one peer; `deferred`: it may wait to go with later batches. */
  send: (peer: Region, deferred: boolean) => Delivery;
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
    const deliveries = peers.map((peer, index) => ({ peer, delivery: send(peer, index >= ackQuorum - 1) }));
    const hurryAll = () => {
      for (const { delivery } of deliveries) delivery.hurry();
    };
    for (const { peer, delivery } of deliveries) {
      delivery.confirmed
        .then((confirmed) => {
          if (confirmed) holders.push(peer.name);
          else hurryAll();
        })
        .catch((error: unknown) => {
          onError(error);
          hurryAll();
        })
        .finally(() => {
          pending -= 1;
          if (holders.length >= ackQuorum) finish(true);
          else if (pending === 0) finish(false);
        });
    }
  });
}
