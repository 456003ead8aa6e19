/**
 * The edge's Hono environment: bindings typed by `wrangler types`, and the per-request variables
 * the middlewares set (request id, validated config, services, and once authenticated the app).
 * Also where the services are built: one place, from the validated config, once per isolate.
 */
import type { RequestIdVariables } from "hono/request-id";
import type { EdgeConfig } from "./config.ts";
import { createRegionClient, type RegionClient } from "./regions.ts";
import { createRevocationList, type RevocationList } from "./revocations.ts";

/** Everything with a side effect that routes use, behind small interfaces. */
export type Services = { regions: RegionClient; revocations: RevocationList };

export type ServicesFactory = (config: EdgeConfig) => Services;

export type EdgeEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & {
    config: EdgeConfig;
    services: Services;
    /** Set by `requireKey` once the app key checks out. */
    appId: string;
    /** The region that answered, for the response header and the request log. */
    region: string | undefined;
  };
};

/** The real services: signed HTTP to the configured regions. */
export const httpServices: ServicesFactory = (config) => {
  const regions = createRegionClient({ regionSecret: config.regionSecret });
  return { regions, revocations: createRevocationList({ regions: config.regions, client: regions }) };
};
