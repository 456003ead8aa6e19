// Busy is not down: a region that sheds an upload (503 OVERLOADED, nothing stored) is skipped for
// that upload only, its breaker left closed and the health table untold; a region that stored the
// upload short of its quorum (503 QUORUM_UNAVAILABLE) is the answer, passed on with Retry-After,
// and no other region gets the batch (it would store a second origin copy). Only when no region
// could take it is a batch spooled.
import { describe, expect, it } from "vitest";
import type { RoutedRegion } from "../../shared/regions.ts";
import { createEdgeApp } from "../app.ts";
import {
  callWith,
  errorOf,
  newApp,
  received,
  recordingQueue,
  sampleUpload,
  setMode,
  spawnRegion,
  unrevokedServices,
  uploadWith,
} from "../testing/helpers.ts";

/** Nothing revoked, the health table read on every request. */
const routingApp = createEdgeApp(unrevokedServices({ healthCacheMs: 0 }));

async function upload(regions: readonly RoutedRegion[], env: object = {}) {
  const keys = await newApp();
  const batch = sampleUpload(2);
  const response = await uploadWith(routingApp, keys.ingest, batch, { regions, env });
  return { response, region: response.headers.get("X-Stormlog-Region"), calls: await received(batch.batchId) };
}

async function healthOf(regions: readonly RoutedRegion[]) {
  const response = await callWith({ regions }, "/v1/health", {}, routingApp);
  return (await response.json()) as { regions: { name: string; status: string; breaker: string }[] };
}

describe("an overloaded region", () => {
  it("is skipped for this upload only: the next region takes it, and the busy one's breaker stays closed", async () => {
    const busy = await spawnRegion("busy");
    const other = await spawnRegion("other");
    const regions = [busy, other];
    await setMode(busy, "overloaded");
    const shed = await upload(regions);
    expect(shed.response.status).toBe(202);
    expect(shed.region).toBe(other.name);
    expect(shed.calls.map((call) => call.stub)).toEqual([busy.name, other.name]);

    const health = await healthOf(regions);
    expect(health.regions[0]).toMatchObject({ name: busy.name, breaker: "closed" });
    expect(health.regions[0]?.status).not.toBe("down");
    // No cool-down to wait for: once it has room, the busy region takes uploads again. The other is
    // busy now, so the upload cannot go there, whichever of the two the health table (their probe
    // latencies) puts first.
    await setMode(busy, "region");
    await setMode(other, "overloaded");
    const next = await upload(regions);
    expect(next.response.status).toBe(202);
    expect(next.region).toBe(busy.name);
    expect(next.calls.filter((call) => call.stub === busy.name)).toHaveLength(1);
  });

  it("is spooled past only when no region could take the upload", async () => {
    const regions = [await spawnRegion("busy-a"), await spawnRegion("busy-b")];
    await Promise.all(regions.map((region) => setMode(region, "overloaded")));
    const spool = recordingQueue();
    const { response, calls } = await upload(regions, { SPOOL: spool.producer });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ spooled: true });
    expect(calls).toHaveLength(2);
    expect(spool.sent).toHaveLength(1);
    expect((await healthOf(regions)).regions.map((region) => region.breaker)).toEqual(["closed", "closed"]);
  });
});

describe("a region short of its quorum", () => {
  it("answers the client 503 with Retry-After, sends the batch to no other region, spools nothing", async () => {
    const stored = await spawnRegion("stored");
    const other = await spawnRegion("other");
    const regions = [stored, other];
    await setMode(stored, "quorum");
    const spool = recordingQueue();
    const { response, region, calls } = await upload(regions, { SPOOL: spool.producer });
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("2");
    expect(region).toBe(stored.name);
    expect((await errorOf(response)).code).toBe("QUORUM_UNAVAILABLE");
    expect(calls.map((call) => call.stub)).toEqual([stored.name]);
    expect(spool.sent).toHaveLength(0);
    expect((await healthOf(regions)).regions[0]).toMatchObject({ breaker: "closed" });
  });
});
