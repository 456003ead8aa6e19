/** The regional backends the edge can forward to, as configured (a JSON list). */
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

/** The internal API each region serves to the edge, its peers and the admin CLI (all signed). */
export const internalPaths = {
  batches: (appId: string) => `/internal/v1/apps/${appId}/batches`,
  logs: (appId: string) => `/internal/v1/apps/${appId}/logs`,
  devices: (appId: string) => `/internal/v1/apps/${appId}/devices`,
  app: (appId: string) => `/internal/v1/apps/${appId}`,
  appKeys: (appId: string) => `/internal/v1/apps/${appId}/keys`,
  apps: "/internal/v1/apps",
  revokeKey: "/internal/v1/keys/revoke",
  revokedKeys: "/internal/v1/keys/revoked",
} as const;
