/** The regional backends the edge can forward to, as configured (a JSON list), and their internal API. */
import { z } from "zod";

export const regionNameSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z0-9-]+$/, "expected lowercase letters, digits and -");

export const regionSchema = z.object({
  name: regionNameSchema,
  url: z.url({ protocol: /^https?$/ }),
});
export type Region = z.infer<typeof regionSchema>;

export const regionsSchema = z.array(regionSchema).min(1);

/** Where a region is, so the edge can prefer the one nearest the client (degrees, WGS 84). */
export const locationSchema = z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) });
export type Location = z.infer<typeof locationSchema>;

/**
 * A region as the edge routes to it: where it is and, optionally, a weight (default 1; a region of
 * weight 2 looks twice as good to the router, e.g. a bigger cluster). The admin CLI needs only
 * `{name, url}`, so this extends `regionSchema` instead of changing it.
 */
export const routedRegionSchema = regionSchema.extend({
  location: locationSchema,
  weight: z.number().positive().max(100).optional(),
});
export type RoutedRegion = z.infer<typeof routedRegionSchema>;

export const routedRegionsSchema = z.array(routedRegionSchema).min(1);

/**
 * The internal API each region serves on its main port: to the edge (signed as `edge`) and to its
 * peers (signed as `peer`). Nothing here manages apps or keys: that is `adminPaths`.
 */
export const internalPaths = {
  batches: (appId: string) => `/internal/v1/apps/${appId}/batches`,
  logs: (appId: string) => `/internal/v1/apps/${appId}/logs`,
  devices: (appId: string) => `/internal/v1/apps/${appId}/devices`,
  volume: (appId: string) => `/internal/v1/apps/${appId}/volume`,
  tail: (appId: string) => `/internal/v1/apps/${appId}/tail`,
  /** One app's digest (the edge's `GET /v1/regions` compares them across regions). */
  digest: (appId: string) => `/internal/v1/apps/${appId}/digest`,
  /** The app's settings: GET (read key), PUT from the edge with the change and its time (manage key). */
  appSettings: (appId: string) => `/internal/v1/apps/${appId}/settings`,
  /** GET the app's remote logging settings at every scope (the edge caches them); PUT one change. */
  deviceSettings: (appId: string) => `/internal/v1/apps/${appId}/device-settings`,
  /** PUT an erasure record (the edge sends the same one to every region); GET its state here. */
  erasure: (appId: string, erasureId: string) => `/internal/v1/apps/${appId}/erasures/${erasureId}`,
  usage: (appId: string) => `/internal/v1/apps/${appId}/usage`,
  /** Issue groups (shared/issues.ts): GET a page, GET one, PUT its status (manage key, sent to every region). */
  issues: (appId: string) => `/internal/v1/apps/${appId}/issues`,
  issue: (appId: string, id: string) => `/internal/v1/apps/${appId}/issues/${id}`,
  /** PUT the app's issue webhook `{url, secret}` (manage key; the edge sends it to every region). */
  webhook: (appId: string) => `/internal/v1/apps/${appId}/webhook`,
  revokedKeys: "/internal/v1/keys/revoked",
  /** Region to region (shared/replication.ts): sealed batches, digests and repair. */
  replicate: "/internal/v1/replicate",
  syncDigests: "/internal/v1/sync/digests",
  syncEntries: "/internal/v1/sync/entries",
  syncFetch: "/internal/v1/sync/fetch",
  syncControl: "/internal/v1/sync/control",
} as const;

/**
 * The admin API, served on each region's admin port only (STORMLOG_ADMIN_PORT, never published)
 * and signed as `admin`: what the admin CLI calls.
 */
export const adminPaths = {
  apps: "/admin/v1/apps",
  app: (appId: string) => `/admin/v1/apps/${appId}`,
  appKeys: (appId: string) => `/admin/v1/apps/${appId}/keys`,
  revokeKey: "/admin/v1/keys/revoke",
  /** PUT the app's settings (as `PATCH /v1/app` does), with the change's time. */
  appSettings: (appId: string) => `/admin/v1/apps/${appId}/settings`,
  /** PUT one remote logging setting (as `PUT /v1/settings` does), with the change's time; GET them all. */
  deviceSettings: (appId: string) => `/admin/v1/apps/${appId}/device-settings`,
  /** PUT an erasure record of a device or (deviceId null) of the whole app; GET its state. */
  erasure: (appId: string, erasureId: string) => `/admin/v1/apps/${appId}/erasures/${erasureId}`,
  /** PUT an app's issue webhook `{url, secret}` (shared/issues.ts) on this region. */
  webhook: (appId: string) => `/admin/v1/apps/${appId}/webhook`,
  /** The same digests peers compare, for `admin verify`. */
  digests: "/admin/v1/digests",
} as const;
