// A failure every region returns for the same request is that request's fault: the client gets
// 500 INTERNAL (503 for a read no region finishes in time), and no breaker opens, no region is
// reported down, nothing is spooled, so no single request can take the service down for everyone.
// A region that fails while another takes the same request is unwell, and avoided as before.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RoutedRegion } from "../../shared/regions.ts";
import { createEdgeApp } from "../app.ts";
import { healthObjectName } from "../health/view.ts";
import { poisonMarker } from "../testing/fixtures.ts";
import {
  callWith,
  dublin,
  errorOf,
  newApp,
  received,
  recordingQueue,
  sampleUpload,
  setMode,
  spawnRegion,
  stubs,
  unrevokedServices,
  uploadWith,
  virginia,
} from "../testing/helpers.ts";

/** Nothing revoked, the health table read on every request, breakers that stay open for the test. */
const app = createEdgeApp(unrevokedServices({ healthCacheMs: 0 }));

const fromDublin = { latitude: String(dublin.lat), longitude: String(dublin.lon) };

async function upload(regions: readonly RoutedRegion[], options: { text?: string; env?: object } = {}) {
  const keys = await newApp();
  const batch = sampleUpload(2);
  if (options.text) (batch.logs[1] as { text: string }).text = options.text;
  const response = await uploadWith(app, keys.ingest, batch, { regions, env: options.env }, fromDublin);
  return { response, region: response.headers.get("X-Stormlog-Region"), calls: await received(batch.batchId) };
}

/** `GET /v1/logs<query>` from Dublin with an app's read key. */
function readLogs(regions: readonly RoutedRegion[], query: string, readKey: string) {
  const init = { headers: { authorization: `Bearer ${readKey}` }, cf: fromDublin } as RequestInit;
  return callWith({ regions }, `/v1/logs${query}`, init, app);
}

/** One probe round of the health object, so both regions start `up`. */
async function probe(regions: readonly RoutedRegion[]) {
  const setup = { regions: regions.map(({ name, url }) => ({ name, url })), probeIntervalMs: 5000 };
  const object = env.REGION_HEALTH.get(env.REGION_HEALTH.idFromName(healthObjectName(regions)));
  await object.snapshot(setup);
  expect(await runDurableObjectAlarm(object)).toBe(true);
}

async function healthOf(regions: readonly RoutedRegion[]) {
  const response = await callWith({ regions }, "/v1/health", { cf: fromDublin } as RequestInit, app);
  return (await response.json()) as {
    order: string[];
    regions: { name: string; status: string; breaker: string; lastError: string | null }[];
  };
}

describe("a request every region fails on", () => {
  it("answers 500 INTERNAL, opens no breaker, reports nothing down and spools nothing", async () => {
    const regions = [await spawnRegion("near", dublin), await spawnRegion("far", virginia)];
    await probe(regions);
    const spool = recordingQueue();
    const poisoned = await upload(regions, { text: `boom ${poisonMarker}`, env: { SPOOL: spool.producer } });
    expect(poisoned.response.status).toBe(500);
    expect(poisoned.region).toBeNull();
    expect(await errorOf(poisoned.response)).toMatchObject({
      code: "INTERNAL",
      message: `every region that answered failed on this request (${regions[0]?.name}: answered 500; ${regions[1]?.name}: answered 500)`,
    });
    // Both regions were tried: the first failure alone says nothing about whose fault it is.
    expect(poisoned.calls.map((call) => call.stub)).toEqual(regions.map((region) => region.name));
    expect(spool.sent).toEqual([]);

    const health = await healthOf(regions);
    expect(health.regions.map(({ status, breaker }) => ({ status, breaker }))).toEqual([
      { status: "up", breaker: "closed" },
      { status: "up", breaker: "closed" },
    ]);
    expect(health.order).toEqual(regions.map((region) => region.name));
    const next = await upload(regions);
    expect(next.response.status).toBe(202);
    expect(next.calls.map((call) => call.stub)).toEqual([regions[0]?.name]);
  });

  it("answers a read every region fails on with 500 INTERNAL, and trips nothing either", async () => {
    const regions = [await spawnRegion("near", dublin), await spawnRegion("far", virginia)];
    await probe(regions);
    const keys = await newApp();
    const read = (q: string) => readLogs(regions, `?q=${q}`, keys.read);
    const poisoned = await read(poisonMarker);
    expect(poisoned.status).toBe(500);
    expect((await errorOf(poisoned)).code).toBe("INTERNAL");
    expect((await healthOf(regions)).regions.map((region) => region.breaker)).toEqual(["closed", "closed"]);
    const next = await read("fine");
    expect(next.status).toBe(200);
    expect(next.headers.get("X-Stormlog-Region")).toBe(regions[0]?.name);
  });

  it("answers a read no region finishes in time with 503, and opens no breaker for it", async () => {
    const regions = [await spawnRegion("near", dublin), await spawnRegion("far", virginia)];
    await probe(regions);
    const keys = await newApp();
    for (const region of regions) await setMode(region, "slow", 2500);
    const read = await readLogs(regions, "?q=costly", keys.read);
    expect(read.status).toBe(503);
    expect(await errorOf(read)).toMatchObject({
      code: "REGION_UNAVAILABLE",
      message: `no region answered (${regions[0]?.name}: timeout; ${regions[1]?.name}: timeout)`,
    });
    // A search too costly for any region says nothing about the regions: uploads still go to the best.
    expect((await healthOf(regions)).regions.map(({ status, breaker }) => ({ status, breaker }))).toEqual([
      { status: "up", breaker: "closed" },
      { status: "up", breaker: "closed" },
    ]);
    for (const region of regions) await setMode(region, "region");
    const next = await upload(regions);
    expect(next.response.status).toBe(202);
    expect(next.calls.map((call) => call.stub)).toEqual([regions[0]?.name]);
  });

  it("still reports a region that cannot be reached, and answers 500 for the one that failed", async () => {
    const failing = await spawnRegion("failing", virginia);
    const refused = { ...(await spawnRegion("refused", dublin)), url: stubs.refused };
    const regions = [refused, failing];
    await probe([failing]);
    const { response, calls } = await upload(regions, { text: poisonMarker });
    expect(response.status).toBe(500);
    expect(calls.map((call) => call.stub)).toEqual([failing.name]);
    const health = await healthOf(regions);
    expect(health.regions.map(({ breaker }) => breaker)).toEqual(["open", "closed"]);
    expect(health.regions[0]).toMatchObject({ status: "down", lastError: "unreachable" });
  });

  it("spools a batch one region failed on while the other could not take it (503)", async () => {
    const regions = [await spawnRegion("near", dublin), await spawnRegion("far", virginia)];
    await probe(regions);
    await setMode(regions[0] as RoutedRegion, "failing");
    await setMode(regions[1] as RoutedRegion, "draining");
    const spool = recordingQueue();
    const { response } = await upload(regions, { env: { SPOOL: spool.producer } });
    expect(response.status).toBe(202);
    expect(spool.sent).toHaveLength(1);
    // Nobody took it, so nothing proves the failing region unwell: only the draining one is skipped.
    expect((await healthOf(regions)).regions.map(({ breaker }) => breaker)).toEqual(["closed", "open"]);
  });
});

describe("a region that fails where another succeeds", () => {
  it("is reported down and skipped afterwards (breaker open)", async () => {
    const regions = [await spawnRegion("near", dublin), await spawnRegion("far", virginia)];
    await probe(regions);
    await setMode(regions[0] as RoutedRegion, "failing");
    const first = await upload(regions);
    expect(first.response.status).toBe(202);
    expect(first.region).toBe(regions[1]?.name);
    expect(first.calls.map((call) => call.stub)).toEqual(regions.map((region) => region.name));

    const health = await healthOf(regions);
    expect(health.regions[0]).toMatchObject({ status: "down", breaker: "open", lastError: "answered 500" });
    expect(health.order).toEqual([regions[1]?.name]);
    const next = await upload(regions);
    expect(next.calls.map((call) => call.stub)).toEqual([regions[1]?.name]);
  });

  it("is reported down when it does not answer a read in time that another region answers", async () => {
    const regions = [await spawnRegion("near", dublin), await spawnRegion("far", virginia)];
    await probe(regions);
    const keys = await newApp();
    await setMode(regions[0] as RoutedRegion, "slow", 2500);
    const read = await readLogs(regions, "", keys.read);
    expect(read.status).toBe(200);
    expect(read.headers.get("X-Stormlog-Region")).toBe(regions[1]?.name);
    const health = await healthOf(regions);
    expect(health.regions[0]).toMatchObject({ status: "down", breaker: "open", lastError: "timeout" });
  });
});
