import { describe, expect, it } from "vitest";
import { limits } from "./limits.ts";
import {
  packReplicateCalls,
  replicateBatchesMax,
  replicateBodyBytesMax,
  type SealedBatch,
  sealedBatchBytesMax,
} from "./replication.ts";

const sealed = (index: number, ciphertextBytes: number): SealedBatch => ({
  appId: "0123456789abcdef",
  batchId: `batch-${index}`,
  origin: "eu-west",
  receivedAt: 1,
  format: 1,
  keyId: "k1",
  wrappedKey: "AAAA",
  ciphertext: "A".repeat(ciphertextBytes),
});

describe("replicate calls", () => {
  it("fit the receiver's body cap: any one batch, and never more than the cap or the count", () => {
    // The largest batch an upload can become still fits a call, with room for another.
    expect(sealedBatchBytesMax).toBeGreaterThan((limits.inflatedBytesMax * 4) / 3);
    expect(replicateBodyBytesMax).toBeGreaterThanOrEqual(2 * sealedBatchBytesMax);

    const small = Array.from({ length: 150 }, (_, index) => sealed(index, 100));
    expect(packReplicateCalls(small).map((call) => call.length)).toEqual([
      replicateBatchesMax,
      replicateBatchesMax,
      22,
    ]);

    const large = Array.from({ length: 5 }, (_, index) => sealed(index, 300));
    const calls = packReplicateCalls(large, 1000);
    expect(calls.map((call) => call.map((batch) => batch.batchId))).toEqual([
      ["batch-0", "batch-1"],
      ["batch-2", "batch-3"],
      ["batch-4"],
    ]);
    for (const call of calls) {
      expect(JSON.stringify({ from: "eu-west", batches: call }).length).toBeLessThanOrEqual(1000);
    }
    // One batch past the cap still goes, alone (the receiver answers 413 rather than it never leaving).
    expect(packReplicateCalls([sealed(0, 2000), sealed(1, 10)], 1000).map((call) => call.length)).toEqual([1, 1]);
  });
});
