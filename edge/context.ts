/**
 * The edge's Hono environment: bindings typed by `wrangler types`, and the per-request variables
 * the middlewares set (request id, validated config, services, and once authenticated the app).
 * Also where the services are built: one place, from the validated config, once per isolate.
 */
import type { RequestIdVariables } from "hono/request-id";
import type { Clock } from "../shared/clock.ts";
import type { EdgeBindings, EdgeConfig } from "./config.ts";
import { createDeviceSettingsCache, type DeviceSettingsCache } from "./device-settings-cache.ts";
import { createHealthView } from "./health/view.ts";
import { createRegionClient, type RegionClient, type SkippedRegion } from "./region-client.ts";
import { createRevocationList, type RevocationList, type RevocationSource } from "./revocations.ts";
import { createBreaker } from "./routing/breaker.ts";
import { createRouter, type Router } from "./routing/router.ts";

/** Everything with a side effect that routes use, behind small interfaces. */
export type Services = { router: Router; revocations: RevocationList; deviceSettings: DeviceSettingsCache };

/**
 * Builds the services for a config. Services are cached per config, so the bindings of the first
 * request that needed them are kept; a Worker's object bindings do not change while it runs.
 */
export type ServicesFactory = (config: EdgeConfig, bindings: EdgeBindings) => Services;

export type EdgeEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & {
    config: EdgeConfig;
    bindings: EdgeBindings;
    services: Services;
    /** Set by `requireKey` once the app key checks out. */
    appId: string;
    /** The app key itself, which reads pass on to the region (it checks the key on its own). */
    appKey: string;
    /** SHA-256 of that key, which a spooled batch carries so the consumer can check it again. */
    keyHash: string;
    /** The region that answered, for the response header and the request log. */
    region: string | undefined;
    /** Regions routing skipped before one answered (a failover), for the request log and count. */
    skipped: SkippedRegion[] | undefined;
  };
};

/** The real services: signed HTTP to the regions, ordered by the shared health table. */
export const httpServices: ServicesFactory = (config, bindings) =>
  routedServices(config, bindings, createRegionClient({ edgeSecret: config.edgeSecret }));

/** Services over any region client; tests pass one with a shorter timeout, or other breakers and their clock. */
export function routedServices(
  config: EdgeConfig,
  bindings: EdgeBindings,
  client: RegionClient,
  options: { cooldownMs?: number; clock?: Clock; healthCacheMs?: number } = {},
): Services {
  const health = createHealthView({
    namespace: bindings.health,
    regions: config.regions,
    probeIntervalMs: config.probeIntervalMs,
    cacheMs: options.healthCacheMs,
  });
  const router = createRouter({
    regions: config.regions,
    client,
    health,
    breaker: createBreaker({ cooldownMs: options.cooldownMs, clock: options.clock }),
  });
  // The revocation list comes from whichever region the router prefers, like everything else. Its
  // fetch has no request of its own to extend, so a failure report it makes is best effort (the
  // breaker still opens at once).
  const viaRouter: RevocationSource = {
    forward: (_regions, call, forwardOptions) =>
      router.forward(call, {
        client: null,
        waitUntil: () => {},
        deadlineMs: forwardOptions?.deadlineMs,
        attemptTimeoutMs: forwardOptions?.attemptTimeoutMs,
      }),
  };
  return {
    router,
    revocations: createRevocationList({ regions: config.regions, client: viaRouter }),
    // An app's remote logging settings come the same way, with the asking request's key.
    deviceSettings: createDeviceSettingsCache({ regions: config.regions, client: viaRouter, clock: options.clock }),
  };
}
