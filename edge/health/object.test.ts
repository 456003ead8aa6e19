// The shared health table itself: one probe round per alarm, statuses from what each region's
// /v1/health answers (or does not), failures reported by requests, the next alarm one interval
// later, and a table that survives the object being evicted.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { RoutedRegion } from "../../shared/regions.ts";
import { setMode, spawnRegion, stubs } from "../testing/helpers.ts";
import type { HealthSetup } from "./object.ts";
import { healthObjectName } from "./view.ts";

function objectFor(regions: RoutedRegion[], probeIntervalMs = 5000) {
  const setup: HealthSetup = { regions: regions.map(({ name, url }) => ({ name, url })), probeIntervalMs };
  return { setup, object: env.REGION_HEALTH.get(env.REGION_HEALTH.idFromName(healthObjectName(regions))) };
}

describe("the health object", () => {
  it("probes every region on its alarm and keeps status, latency and load", async () => {
    const regions = [await spawnRegion("up"), await spawnRegion("draining"), await spawnRegion("broken")];
    regions.push({ name: "refused", url: stubs.refused, location: regions[0]?.location ?? { lat: 0, lon: 0 } });
    await setMode(regions[1] as RoutedRegion, "draining");
    await setMode(regions[2] as RoutedRegion, "broken");
    const { setup, object } = objectFor(regions);

    const before = await object.snapshot(setup);
    expect(before.probedAt).toBeNull();
    expect(before.regions.map((region) => region.status)).toEqual(["unknown", "unknown", "unknown", "unknown"]);
    expect(await runDurableObjectAlarm(object)).toBe(true);

    const after = await object.snapshot(setup);
    expect(after.probedAt).toEqual(expect.any(Number));
    expect(after.regions.map((region) => [region.status, region.lastError])).toEqual([
      ["up", null],
      ["draining", "draining"],
      ["down", "health answered 500"],
      ["down", "unreachable"],
    ]);
    expect(after.regions[0]).toMatchObject({ inFlight: 0, lastSuccessAt: expect.any(Number) });
    expect(after.regions[0]?.latencyMs).toEqual(expect.any(Number));
    // The next round is one interval after this one started.
    const alarm = await runInDurableObject(object, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe((after.probedAt as number) + 5000);
  });

  it("marks a region down when a request reports it, until a probe sees it answer", async () => {
    const regions = [await spawnRegion("flaky")];
    const { setup, object } = objectFor(regions);
    await object.snapshot(setup);
    await object.report(setup, { region: regions[0]?.name as string, reason: "timeout", atMs: 42 });
    expect((await object.snapshot(setup)).regions[0]).toMatchObject({ status: "down", lastError: "timeout" });
    await runDurableObjectAlarm(object);
    expect((await object.snapshot(setup)).regions[0]).toMatchObject({ status: "up", lastErrorAt: 42 });
  });

  it("keeps its table when evicted", async () => {
    const regions = [await spawnRegion("kept")];
    const { setup, object } = objectFor(regions);
    await object.snapshot(setup);
    await runDurableObjectAlarm(object);
    await evictDurableObject(object);
    expect((await object.snapshot(setup)).regions[0]?.status).toBe("up");
  });

  it("stores its table on a read only when the read starts probing or changes the regions", async () => {
    const regions = [await spawnRegion("read-often")];
    const { setup, object } = objectFor(regions);
    // Every isolate reads the table every two seconds: a write per read would be the object's
    // main cost.
    const writesPerRead = await runInDurableObject(object, async (instance, state) => {
      const put = vi.spyOn(state.storage, "put");
      const writes = async (read: () => Promise<unknown>) => {
        const before = put.mock.calls.length;
        await read();
        return put.mock.calls.length - before;
      };
      return [
        await writes(() => instance.snapshot(setup)),
        await writes(() => instance.snapshot(setup)),
        await writes(() => instance.snapshot(setup)),
        await writes(() => instance.snapshot({ ...setup, probeIntervalMs: 7000 })),
      ];
    });
    expect(writesPerRead).toEqual([1, 0, 0, 1]);
    // What the reads did not write, the probe does: the table survives eviction as before.
    await runDurableObjectAlarm(object);
    await evictDurableObject(object);
    expect((await object.snapshot({ ...setup, probeIntervalMs: 7000 })).regions[0]?.status).toBe("up");
  });
});
