/**
 * Where `npm start` puts the local system, and where `npm run region` and `npm run admin` look
 * for it: the only module of scripts/ that reads `process.env`. Every variable is optional; a bad
 * value throws an error that names it, so `npm start` stops before starting anything.
 *
 *   STORMLOG_LOCAL_DIR             data, secrets, local.json, control.json (default .stormlog)
 *   STORMLOG_LOCAL_REGIONS         region names, comma-separated (default eu-west,us-east,ap-south)
 *   STORMLOG_LOCAL_REGION_PORTS    one port per region, comma-separated (default 8701,8702,…)
 *   STORMLOG_LOCAL_ADMIN_PORTS     one admin port per region, comma-separated (default 8711,8712,…)
 *   STORMLOG_LOCAL_EDGE_PORT       the edge (default 8787)
 *   STORMLOG_LOCAL_INSPECTOR_PORT  wrangler dev's DevTools inspector (default 9230)
 */
import { z } from "zod";
import { regionNameSchema } from "../shared/regions.ts";

export const defaultRegionNames = ["eu-west", "us-east", "ap-south"];

export type LocalConfig = {
  dir: string;
  regionNames?: string[];
  regionPorts?: number[];
  adminPorts?: number[];
  edgePort?: number;
  inspectorPort?: number;
};

const portMessage = "expected a port number (1-65535)";
const port = z.coerce
  .number<string>({ error: portMessage })
  .int(portMessage)
  .min(1, portMessage)
  .max(65_535, portMessage);
const split = (value: string) => value.split(",").map((part) => part.trim());

const schema = z.object({
  STORMLOG_LOCAL_DIR: z.string().min(1).default(".stormlog"),
  STORMLOG_LOCAL_REGIONS: z
    .string()
    .transform(split)
    .pipe(z.array(regionNameSchema).min(1))
    .refine((names) => new Set(names).size === names.length, "expected each name once")
    // `npm run region` names the edge `edge`.
    .refine((names) => !names.includes("edge"), "edge is the edge's name, not a region's")
    .optional(),
  STORMLOG_LOCAL_REGION_PORTS: z.string().transform(split).pipe(z.array(port).min(1)).optional(),
  STORMLOG_LOCAL_ADMIN_PORTS: z.string().transform(split).pipe(z.array(port).min(1)).optional(),
  STORMLOG_LOCAL_EDGE_PORT: port.optional(),
  STORMLOG_LOCAL_INSPECTOR_PORT: port.optional(),
});

export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join(".") ?? "environment"}: ${issue?.message ?? "invalid"}`);
  }
  const vars = parsed.data;
  const regionCount = (vars.STORMLOG_LOCAL_REGIONS ?? defaultRegionNames).length;
  for (const name of ["STORMLOG_LOCAL_REGION_PORTS", "STORMLOG_LOCAL_ADMIN_PORTS"] as const) {
    const ports = vars[name];
    if (ports && ports.length !== regionCount) {
      throw new Error(`${name}: expected ${regionCount} ports, one per region, got ${ports.length}`);
    }
  }
  return {
    dir: vars.STORMLOG_LOCAL_DIR,
    regionNames: vars.STORMLOG_LOCAL_REGIONS,
    regionPorts: vars.STORMLOG_LOCAL_REGION_PORTS,
    adminPorts: vars.STORMLOG_LOCAL_ADMIN_PORTS,
    edgePort: vars.STORMLOG_LOCAL_EDGE_PORT,
    inspectorPort: vars.STORMLOG_LOCAL_INSPECTOR_PORT,
  };
}
