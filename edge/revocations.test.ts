// The per-isolate revocation cache, against the stub regions: one fetch per freshness window, a
// stale list served while one background refresh runs, the last known list kept while regions
// are down, and no list at all (so auth refuses) before any region has answered.
import { describe, expect, it } from "vitest";
import { keyHash, mintKey, newAppId } from "../shared/keys.ts";
import type { Region } from "../shared/regions.ts";
import { createRegionClient, type RegionClient } from "./regions.ts";
import { createRevocationList, type RefreshContext, revocationsFreshMs } from "./revocations.ts";
import { testEdgeSecret } from "./test/fixtures.ts";
import { callWith, errorOf, newApp, received, regionsOf, revokeAtStubs, sampleUpload } from "./test/helpers.ts";

/** The real client, counting calls, and able to be cut off from every region. */
function observedClient() {
  const real = createRegionClient({ edgeSecret: testEdgeSecret, timeoutMs: 500 });
  const state = { calls: 0, down: false };
  const client: RegionClient = {
    forward(regions, call) {
      state.calls += 1;
      return real.forward(state.down ? [regionsOf.refused] : regions, call);
    },
  };
  return { client, state };
}

function recordingContext(): RefreshContext & { pending: Promise<unknown>[] } {
  const pending: Promise<unknown>[] = [];
  return { requestId: "req-revocations", pending, waitUntil: (promise) => pending.push(promise) };
}

async function newRevokedHash(): Promise<string> {
  const hash = await keyHash(await mintKey("unrelated-secret-0123456789abcdef", newAppId(), "read"));
  await revokeAtStubs(hash);
  return hash;
}

describe("revocation list", () => {
  it("fetches once per freshness window, then refreshes in the background", async () => {
    const revokedEarly = await newRevokedHash();
    let nowMs = 1_000_000;
    const { client, state } = observedClient();
    const list = createRevocationList({ regions: [regionsOf.eu], client, nowMs: () => nowMs });

    const first = await list.current(recordingContext());
    expect(first?.has(revokedEarly)).toBe(true);
    nowMs += revocationsFreshMs - 1;
    const revokedLater = await newRevokedHash();
    expect((await list.current(recordingContext()))?.has(revokedLater)).toBe(false);
    expect(state.calls).toBe(1);

    nowMs += 1;
    const context = recordingContext();
    // Stale: the old list answers now; the refresh runs under waitUntil.
    expect((await list.current(context))?.has(revokedLater)).toBe(false);
    expect(context.pending).toHaveLength(1);
    await Promise.all(context.pending);
    expect((await list.current(recordingContext()))?.has(revokedLater)).toBe(true);
    expect(state.calls).toBe(2);
  });

  it("keeps the last known list while no region answers", async () => {
    const revoked = await newRevokedHash();
    let nowMs = 0;
    const { client, state } = observedClient();
    const list = createRevocationList({ regions: [regionsOf.eu], client, nowMs: () => nowMs });
    expect((await list.current(recordingContext()))?.has(revoked)).toBe(true);

    state.down = true;
    nowMs += revocationsFreshMs * 3;
    const context = recordingContext();
    expect((await list.current(context))?.has(revoked)).toBe(true);
    await Promise.all(context.pending);
    expect((await list.current(recordingContext()))?.has(revoked)).toBe(true);
    expect(state.calls).toBeGreaterThanOrEqual(2);
  });

  it("has no list until a region answers, and ignores an answer that is not a list", async () => {
    const { client } = observedClient();
    const down = createRevocationList({ regions: [regionsOf.refused, regionsOf.broken], client });
    expect(await down.current(recordingContext())).toBeNull();

    const notAList: RegionClient = {
      forward: async (regions) => ({
        ok: true,
        value: { region: regions[0] as Region, response: Response.json({ keyHashes: "all of them" }) },
      }),
    };
    const confused = createRevocationList({ regions: [regionsOf.eu], client: notAList });
    expect(await confused.current(recordingContext())).toBeNull();
  });

  it("makes the edge refuse keys (503) while it has never seen a list", async () => {
    const keys = await newApp();
    const response = await callWith({ regions: [regionsOf.refused, regionsOf.broken] }, "/v1/batches", {
      method: "POST",
      headers: { authorization: `Bearer ${keys.ingest}`, "content-type": "application/json" },
      body: JSON.stringify(sampleUpload()),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("5");
    expect(await errorOf(response)).toMatchObject({
      code: "REGION_UNAVAILABLE",
      message: "cannot check the app key: no region answered",
    });
    expect(await received(keys.appId)).toEqual([]);
  });
});
