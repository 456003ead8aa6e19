// The per-isolate cache of remote logging settings, against the stub regions, on an injected
// clock: one fetch per app per freshness window, a background refresh after it, the stale list kept
// however old while no region answers, and null (the route's built-in default) when never fetched.
import { describe, expect, it } from "vitest";
import {
  createDeviceSettingsCache,
  deviceSettingsAttemptMs,
  deviceSettingsFreshMs,
  deviceSettingsWaitMs,
} from "./device-settings-cache.ts";
import { createRegionClient, type RegionClient } from "./region-client.ts";
import type { RefreshContext } from "./revocations.ts";
import { testEdgeSecret } from "./testing/fixtures.ts";
import { callWith, newApp, regionsOf } from "./testing/helpers.ts";

function observedClient() {
  const real = createRegionClient({ edgeSecret: testEdgeSecret, timeoutMs: 500 });
  const state = { calls: 0, down: false };
  const client: RegionClient = {
    forward(regions, call, options) {
      state.calls += 1;
      return real.forward(state.down ? [regionsOf.refused] : regions, call, options);
    },
  };
  return { client, state };
}

function recordingContext(): RefreshContext & { pending: Promise<unknown>[] } {
  const pending: Promise<unknown>[] = [];
  return { requestId: "req-settings", pending, waitUntil: (promise) => pending.push(promise) };
}

const setAppDefault = (manageKey: string, minLevel: string) =>
  callWith({ regions: [regionsOf.eu] }, "/v1/settings", {
    method: "PUT",
    headers: { authorization: `Bearer ${manageKey}`, "content-type": "application/json" },
    body: JSON.stringify({ enabled: true, minLevel }),
  });

describe("device settings cache", () => {
  it("fetches once per window, refreshes in the background, and keeps the last list with no region", async () => {
    const keys = await newApp();
    expect((await setAppDefault(keys.manage, "info")).status).toBe(200);
    let nowMs = 1_000_000;
    const { client, state } = observedClient();
    const cache = createDeviceSettingsCache({ regions: [regionsOf.eu], client, clock: { now: () => nowMs } });
    const minLevel = async (context = recordingContext()) =>
      (await cache.current(keys.appId, keys.ingest, context))?.[0]?.minLevel;

    expect(await minLevel()).toBe("info");
    expect((await setAppDefault(keys.manage, "error")).status).toBe(200);
    nowMs += deviceSettingsFreshMs - 1;
    expect(await minLevel()).toBe("info");
    expect(state.calls).toBe(1);

    nowMs += 1;
    const context = recordingContext();
    expect(await minLevel(context)).toBe("info"); // stale, answered now
    await Promise.all(context.pending);
    expect(await minLevel()).toBe("error");
    expect(state.calls).toBe(2);

    state.down = true;
    nowMs += 10 * deviceSettingsFreshMs;
    const down = recordingContext();
    expect(await minLevel(down)).toBe("error");
    await Promise.all(down.pending);
    expect(await minLevel()).toBe("error");

    // Another app, never fetched, with no region: nothing, which the route answers as the default.
    const other = await newApp();
    expect(await cache.current(other.appId, other.ingest, recordingContext())).toBeNull();
  });

  it("asks the next region when one holds the list back", async () => {
    const keys = await newApp();
    expect((await setAppDefault(keys.manage, "warn")).status).toBe(200);
    const client = createRegionClient({ edgeSecret: testEdgeSecret });
    const cache = createDeviceSettingsCache({ regions: [regionsOf.silent, regionsOf.eu], client });
    const startedMs = performance.now();
    const settings = await cache.current(keys.appId, keys.ingest, recordingContext());
    expect(settings?.[0]?.minLevel).toBe("warn");
    const tookMs = performance.now() - startedMs;
    expect(tookMs).toBeGreaterThanOrEqual(deviceSettingsAttemptMs - 50);
    expect(tookMs).toBeLessThan(deviceSettingsWaitMs);
  });
});
