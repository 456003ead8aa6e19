// Routing against stand-in regions of each test's own, switched between healthy, broken (500),
// silent, slow and draining: the best region is chosen, an upload that the chosen region cannot
// take lands on another within the same request, a failed region is skipped at once and used
// again after its cool-down, and the shared health table follows what probes and requests see.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Location, RoutedRegion } from "../../shared/regions.ts";
import { createEdgeApp } from "../app.ts";
import { healthObjectName } from "../health/view.ts";
import {
  callWith,
  dublin,
  errorOf,
  mumbai,
  newApp,
  received,
  sampleUpload,
  setMode,
  spawnRegion,
  stubs,
  unrevokedServices,
  uploadWith,
  virginia,
} from "../testing/helpers.ts";

const cooldownMs = 300;
/** How far the breakers' clock runs ahead of the real one: tests move it past a cool-down instead of sleeping. */
let breakerClockAheadMs = 0;
/** Nothing revoked, the health table read on every request, a short breaker cool-down. */
const routingApp = createEdgeApp(
  unrevokedServices({ cooldownMs, clock: { now: () => Date.now() + breakerClockAheadMs }, healthCacheMs: 0 }),
);

async function upload(regions: readonly RoutedRegion[], client: Location | null = null, env: object = {}) {
  const keys = await newApp();
  const batch = sampleUpload(2);
  const cf = client ? { latitude: String(client.lat), longitude: String(client.lon) } : undefined;
  const response = await uploadWith(routingApp, keys.ingest, batch, { regions, env }, cf);
  return { response, region: response.headers.get("X-Stormlog-Region"), calls: await received(batch.batchId) };
}

/** Runs one probe round of the health object for these regions, as its alarm would. */
async function probe(regions: readonly RoutedRegion[]) {
  const object = env.REGION_HEALTH.get(env.REGION_HEALTH.idFromName(healthObjectName(regions)));
  await object.snapshot({ regions: regions.map(({ name, url }) => ({ name, url })), probeIntervalMs: 5000 });
  expect(await runDurableObjectAlarm(object)).toBe(true);
  return object.snapshot({ regions: regions.map(({ name, url }) => ({ name, url })), probeIntervalMs: 5000 });
}

async function healthOf(regions: readonly RoutedRegion[]) {
  const response = await callWith({ regions }, "/v1/health", {}, routingApp);
  return (await response.json()) as {
    order: string[];
    regions: { name: string; status: string; breaker: string; order: number | null; lastError: string | null }[];
  };
}

describe("choosing a region", () => {
  it("sends each upload to the healthy region nearest the client", async () => {
    const regions = [
      await spawnRegion("eu", dublin),
      await spawnRegion("us", virginia),
      await spawnRegion("ap", mumbai),
    ];
    const snapshot = await probe(regions);
    expect(snapshot.regions.map((region) => region.status)).toEqual(["up", "up", "up"]);
    expect((await upload(regions, mumbai)).region).toBe(regions[2]?.name);
    expect((await upload(regions, virginia)).region).toBe(regions[1]?.name);
    const fromDublin = await upload(regions, dublin);
    expect(fromDublin.region).toBe(regions[0]?.name);
    expect(fromDublin.calls.map((call) => call.stub)).toEqual([regions[0]?.name]);
  });

  it("never picks a draining region while another is usable, even the nearest", async () => {
    const regions = [await spawnRegion("eu", dublin), await spawnRegion("us", virginia)];
    await setMode(regions[0] as RoutedRegion, "draining");
    await probe(regions);
    const { response, region, calls } = await upload(regions, dublin);
    expect(response.status).toBe(202);
    expect(region).toBe(regions[1]?.name);
    expect(calls.map((call) => call.stub)).toEqual([regions[1]?.name]);
    const health = await healthOf(regions);
    expect(health.order).toEqual([regions[1]?.name, regions[0]?.name]);
    expect(health.regions[0]).toMatchObject({ status: "draining", order: 2 });
  });
});

describe("failing over within the request", () => {
  for (const mode of ["broken", "slow", "draining", "refused"] as const) {
    it(`lands on another region when the best one is ${mode}`, async () => {
      const best = await spawnRegion("best", dublin);
      const other = await spawnRegion("other", virginia);
      const regions = [mode === "refused" ? { ...best, url: stubs.refused } : best, other];
      // The table still says all is well: only the request finds out.
      await probe(regions);
      if (mode === "slow") await setMode(best, "slow", 2500);
      else if (mode !== "refused") await setMode(best, mode);
      const { response, region, calls } = await upload(regions, dublin);
      expect(response.status).toBe(202);
      expect(region).toBe(other.name);
      const expected = mode === "refused" ? [other.name] : [best.name, other.name];
      expect(calls.map((call) => call.stub)).toEqual(expected);
      if (calls.length === 2) expect(calls[0]?.body).toBe(calls[1]?.body);
    });
  }

  it("skips a failed region at once, and tries it again after its cool-down", async () => {
    const flaky = await spawnRegion("flaky");
    const steady = await spawnRegion("steady");
    const regions = [flaky, steady];
    const noTable = { REGION_HEALTH: undefined };
    await setMode(flaky, "broken");
    expect((await upload(regions, null, noTable)).calls.map((call) => call.stub)).toEqual([flaky.name, steady.name]);
    // The breaker is open: the next upload does not even try the broken region.
    expect((await upload(regions, null, noTable)).calls.map((call) => call.stub)).toEqual([steady.name]);

    await setMode(flaky, "region");
    breakerClockAheadMs += cooldownMs + 50;
    const recovered = await upload(regions, null, noTable);
    expect(recovered.region).toBe(flaky.name);
    expect(recovered.calls.map((call) => call.stub)).toEqual([flaky.name]);
  });

  it("keeps a breaker open when its half-open trial is a read that times out where no region answers", async () => {
    const flaky = await spawnRegion("flaky");
    const steady = await spawnRegion("steady");
    const regions = [flaky, steady];
    const noTable = { REGION_HEALTH: undefined };
    await setMode(flaky, "broken");
    expect((await upload(regions, null, noTable)).calls.map((call) => call.stub)).toEqual([flaky.name, steady.name]);

    // The cool-down is over: the read is flaky's trial, and neither region answers it in time.
    breakerClockAheadMs += cooldownMs + 50;
    for (const region of regions) await setMode(region, "slow", 2500);
    const keys = await newApp();
    const read = await callWith(
      { regions, env: noTable },
      "/v1/logs",
      { headers: { authorization: `Bearer ${keys.read}` } },
      routingApp,
    );
    expect(read.status).toBe(503);

    // A trial that did not answer failed: flaky stays skipped; steady, whose breaker was closed, is not.
    for (const region of regions) await setMode(region, "region");
    expect((await upload(regions, null, noTable)).calls.map((call) => call.stub)).toEqual([steady.name]);
    // Failed, not left in flight: after another cool-down flaky gets its next trial.
    breakerClockAheadMs += cooldownMs + 50;
    expect((await upload(regions, null, noTable)).calls.map((call) => call.stub)).toEqual([flaky.name]);
  });

  it("tells the shared health table at once, which probes then clear", async () => {
    const regions = [await spawnRegion("eu", dublin), await spawnRegion("us", virginia)];
    await probe(regions);
    await setMode(regions[0] as RoutedRegion, "broken");
    expect((await upload(regions, dublin)).region).toBe(regions[1]?.name);

    const failed = await healthOf(regions);
    expect(failed.regions[0]).toMatchObject({ status: "down", lastError: "answered 500" });
    expect(failed.order).toEqual([regions[1]?.name]);

    await setMode(regions[0] as RoutedRegion, "region");
    await probe(regions);
    breakerClockAheadMs += cooldownMs + 50;
    const cleared = await healthOf(regions);
    expect(cleared.regions[0]).toMatchObject({ status: "up" });
    expect(cleared.order).toEqual([regions[0]?.name, regions[1]?.name]);
    expect((await upload(regions, dublin)).region).toBe(regions[0]?.name);
  });

  it("answers reads with 503 and Retry-After when no region is available", async () => {
    const regions = [await spawnRegion("a"), await spawnRegion("b")];
    await Promise.all(regions.map((region) => setMode(region, "broken")));
    const keys = await newApp();
    const response = await callWith(
      { regions },
      "/v1/logs",
      { headers: { authorization: `Bearer ${keys.read}` } },
      routingApp,
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("5");
    expect((await errorOf(response)).code).toBe("REGION_UNAVAILABLE");
  });
});
