import { describe, expect, it } from "vitest";
import type { Region } from "../../shared/regions.ts";
import { awaitQuorum, type Delivery } from "./quorum.ts";

const peer = (name: string): Region => ({ name, url: `http://${name}.invalid` });

/** A delivery settled by hand, recording whether it was sent at once, deferred, or hurried. */
function manual(deferred: boolean) {
  let settle: (confirmed: boolean) => void = () => undefined;
  const state = {
    deferred,
    hurried: false,
    confirm: (confirmed: boolean) => settle(confirmed),
    delivery: {
      confirmed: new Promise<boolean>((resolve) => {
        settle = resolve;
      }),
      hurry: () => {
        state.hurried = true;
      },
    } satisfies Delivery,
  };
  return state;
}

function quorumOf(ackQuorum: number, names: string[]) {
  const sent = new Map<string, ReturnType<typeof manual>>();
  const outcome = awaitQuorum({
    region: "a",
    peers: names.map(peer),
    send: (to, deferred) => {
      const delivery = manual(deferred);
      sent.set(to.name, delivery);
      return delivery.delivery;
    },
    ackQuorum,
    quorumTimeoutMs: 5_000,
    onError: () => undefined,
  });
  return { sent, outcome };
}

describe("awaitQuorum", () => {
  it("sends at once to the peers the quorum needs, and defers the others' copies", async () => {
    const { sent, outcome } = quorumOf(2, ["b", "c"]);
    expect([...sent].map(([name, state]) => [name, state.deferred])).toEqual([
      ["b", false],
      ["c", true],
    ]);
    sent.get("b")?.confirm(true);
    expect(await outcome).toEqual({ reached: true, regions: ["a", "b"] });
    // The deferred copy was not hurried: it goes with later batches.
    expect(sent.get("c")?.hurried).toBe(false);
  });

  it("hurries the deferred copies once a needed peer fails, and reaches the quorum through them", async () => {
    const { sent, outcome } = quorumOf(2, ["b", "c"]);
    sent.get("b")?.confirm(false);
    await Promise.resolve();
    await Promise.resolve();
    expect(sent.get("c")?.hurried).toBe(true);
    sent.get("c")?.confirm(true);
    expect(await outcome).toEqual({ reached: true, regions: ["a", "c"] });
  });

  it("defers nothing when the quorum needs every peer", async () => {
    const { sent, outcome } = quorumOf(3, ["b", "c"]);
    expect([...sent.values()].map((state) => state.deferred)).toEqual([false, false]);
    sent.get("c")?.confirm(true);
    sent.get("b")?.confirm(true);
    expect((await outcome).reached).toBe(true);
  });
});
