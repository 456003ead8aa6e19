// The per-isolate revocation cache, against the stub regions, on an injected clock: one fetch per
// freshness window, a stale list served only through a short grace period while one background
// refresh runs, then a bounded wait for a fresh list, and no list at all (so auth refuses with
// 503) when none can be had: a revocation takes effect within 30 s whatever the regions do.
import { describe, expect, it } from "vitest";
import { keyHash, mintKey, newAppId } from "../shared/keys.ts";
import type { Region } from "../shared/regions.ts";
import { createEdgeApp } from "./app.ts";
import { httpServices } from "./context.ts";
import { createRegionClient, type ForwardOptions, type RegionClient } from "./region-client.ts";
import {
  createRevocationList,
  type RefreshContext,
  revocationsAttemptMs,
  revocationsFreshMs,
  revocationsGraceMs,
  revocationsWaitMs,
} from "./revocations.ts";
import { testEdgeSecret } from "./testing/fixtures.ts";
import { callWith, errorOf, newApp, received, regionsOf, revokeAtStubs, sampleUpload } from "./testing/helpers.ts";

/** The real client, counting calls (and their options), and able to be cut off from every region. */
function observedClient() {
  const real = createRegionClient({ edgeSecret: testEdgeSecret, timeoutMs: 500 });
  const state = { calls: 0, down: false, options: [] as (ForwardOptions | undefined)[] };
  const client: RegionClient = {
    forward(regions, call, options) {
      state.calls += 1;
      state.options.push(options);
      return real.forward(state.down ? [regionsOf.refused] : regions, call, options);
    },
  };
  return { client, state };
}

/** Past this age a list is never trusted. */
const trustedMs = revocationsFreshMs + revocationsGraceMs;

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
    const list = createRevocationList({ regions: [regionsOf.eu], client, clock: { now: () => nowMs } });

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

  it("keeps a revocation's delay within 30 s: fresh, then a short grace, then it waits for a fresh list", async () => {
    expect(trustedMs).toBeLessThanOrEqual(30_000);
    let nowMs = 0;
    const { client, state } = observedClient();
    const list = createRevocationList({ regions: [regionsOf.eu], client, clock: { now: () => nowMs } });
    await list.current(recordingContext());
    const revokedSince = await newRevokedHash();

    // In the grace period the stale list still answers (the refresh runs in the background)...
    nowMs = trustedMs - 1;
    state.down = true;
    const graceful = recordingContext();
    expect((await list.current(graceful))?.has(revokedSince)).toBe(false);
    expect(graceful.pending).toHaveLength(1);
    await Promise.all(graceful.pending);

    // ...and past it, the request itself waits for a fresh list.
    nowMs = trustedMs;
    state.down = false;
    const waiting = recordingContext();
    expect((await list.current(waiting))?.has(revokedSince)).toBe(true);
    expect(waiting.pending).toEqual([]);
    expect(state.options.every((options) => options?.deadlineMs === revocationsWaitMs)).toBe(true);
    expect(revocationsWaitMs).toBeLessThanOrEqual(2000);
  });

  it("has no list past the grace period when no region answers, until one does again", async () => {
    const revoked = await newRevokedHash();
    let nowMs = 0;
    const { client, state } = observedClient();
    const list = createRevocationList({ regions: [regionsOf.eu], client, clock: { now: () => nowMs } });
    expect((await list.current(recordingContext()))?.has(revoked)).toBe(true);

    state.down = true;
    nowMs = trustedMs;
    expect(await list.current(recordingContext())).toBeNull();
    nowMs += revocationsFreshMs * 3;
    expect(await list.current(recordingContext())).toBeNull();
    state.down = false;
    expect((await list.current(recordingContext()))?.has(revoked)).toBe(true);
  });

  it("asks the next region when one holds the list back, and gives up after revocationsWaitMs", async () => {
    expect(revocationsAttemptMs * 2).toBeLessThanOrEqual(revocationsWaitMs);
    const client = createRegionClient({ edgeSecret: testEdgeSecret });
    const startedMs = performance.now();
    const behindHung = createRevocationList({ regions: [regionsOf.silent, regionsOf.eu], client });
    expect(await behindHung.current(recordingContext())).not.toBeNull();
    const tookMs = performance.now() - startedMs;
    expect(tookMs).toBeGreaterThanOrEqual(revocationsAttemptMs - 50);
    expect(tookMs).toBeLessThan(revocationsWaitMs);

    // Two hung regions take the whole wait: the answering one behind them is never asked.
    const secondSilent = { ...regionsOf.silent, name: "silent-2" };
    const behindTwo = createRevocationList({ regions: [regionsOf.silent, secondSilent, regionsOf.eu], client });
    expect(await behindTwo.current(recordingContext())).toBeNull();
  });

  it("lets a fresh edge's first upload through when its first region takes connections and never answers", async () => {
    // A fresh app: its own isolate-level list, fetched by this very upload.
    const fresh = createEdgeApp(httpServices);
    // A name of its own, so no other test's health table or breaker knows the silent region.
    const hung = { ...regionsOf.silent, name: "hung-first" };
    const keys = await newApp();
    const batch = sampleUpload();
    const response = await callWith(
      { regions: [hung, regionsOf.eu] },
      "/v1/batches",
      {
        method: "POST",
        headers: { authorization: `Bearer ${keys.ingest}`, "content-type": "application/json" },
        body: JSON.stringify(batch),
      },
      fresh,
    );
    expect(response.status).toBe(202);
    expect(response.headers.get("X-Stormlog-Region")).toBe("eu-west");
    // The list's fetch timed the silent region out and opened its breaker: the upload went
    // straight to the region that answers.
    expect((await received(batch.batchId)).map((call) => call.stub)).toEqual(["eu-west"]);
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

  it("makes the edge answer 503 + Retry-After once its list is too old to trust, and 401 once it has a fresh one", async () => {
    let nowMs = 0;
    const { client, state } = observedClient();
    const list = createRevocationList({ regions: [regionsOf.eu], client, clock: { now: () => nowMs } });
    const app = createEdgeApp((config, bindings) => ({ ...httpServices(config, bindings), revocations: list }));
    const keys = await newApp();
    const upload = () =>
      callWith(
        { regions: [regionsOf.eu] },
        "/v1/batches",
        {
          method: "POST",
          headers: { authorization: `Bearer ${keys.ingest}`, "content-type": "application/json" },
          body: JSON.stringify(sampleUpload()),
        },
        app,
      );
    expect((await upload()).status).toBe(202);

    await revokeAtStubs(await keyHash(keys.ingest));
    state.down = true;
    nowMs = trustedMs;
    const refused = await upload();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("Retry-After")).toBe("5");
    expect((await errorOf(refused)).code).toBe("REGION_UNAVAILABLE");

    state.down = false;
    const revoked = await upload();
    expect(revoked.status).toBe(401);
    expect((await errorOf(revoked)).message).toContain("revoked");
    expect((await received(keys.appId)).filter((call) => call.method === "POST")).toHaveLength(1);
  });
});
