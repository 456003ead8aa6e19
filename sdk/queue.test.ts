// The queue's choice of the next batch, on its own: oldest first, and never lines that span more
// time than the edge takes in one batch, however long the device was offline.
import { describe, expect, it } from "vitest";
import { batchSpanMsMax, LocalQueue } from "./queue.ts";
import type { Entry, Op } from "./types.ts";

const limits = { queueBytesMax: 1024 * 1024, batchLinesMax: 500, batchBytesMax: 512 * 1024 };
const start = Date.UTC(2026, 0, 1);
const hour = 3_600_000;

function queueWith(times: number[]): LocalQueue {
  const queue = new LocalQueue(limits);
  for (const ts of times) for (const op of queue.add({ ts, level: "info", text: `at ${ts - start}` })) queue.apply(op);
  return queue;
}

/** Every batch the queue forms, in order, as the offsets of its lines' times from `start`. */
function drain(queue: LocalQueue): number[][] {
  const batches: number[][] = [];
  for (let id = 1; ; id++) {
    const op = queue.nextBatch(`batch-${id}`, { id: "device" });
    if (!op) return batches;
    queue.apply(op);
    batches.push(queue.batchEntries().map((entry: Entry) => entry.ts - start));
    queue.apply({ t: "done", id: `batch-${id}` } satisfies Op);
  }
}

describe("the next batch", () => {
  it("never spans more than batchSpanMsMax, keeping queue order", () => {
    const times = [0, hour, 23 * hour, 25 * hour, 26 * hour, 3 * 24 * hour, 2 * hour].map((offset) => start + offset);
    expect(drain(queueWith(times))).toEqual([
      [0, hour, 23 * hour],
      [25 * hour, 26 * hour],
      [3 * 24 * hour],
      [2 * hour],
    ]);
  });

  it("takes lines exactly batchSpanMsMax apart together", () => {
    expect(drain(queueWith([start, start + batchSpanMsMax, start + batchSpanMsMax + 1]))).toEqual([
      [0, batchSpanMsMax],
      [batchSpanMsMax + 1],
    ]);
  });
});
