/**
 * Where the admin CLI finds the cluster: `STORMLOG_REGIONS` (JSON list of `{name,url}`, each url
 * the region's admin listener), `STORMLOG_KEY_SECRET` and `STORMLOG_ADMIN_SECRET`; when they are
 * unset, the local system that `npm start` wrote under `STORMLOG_LOCAL_DIR` (default `.stormlog/`,
 * as for `npm start`: its regions' `adminUrl`s and secrets). The only file of the CLI that reads process.env.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { regionsSchema } from "../../shared/regions.ts";
import type { Cluster } from "./cluster.ts";

const secretSchema = z.string().min(32, "expected at least 32 characters");

export function loadCluster(
  env: NodeJS.ProcessEnv = process.env,
  localDir = env.STORMLOG_LOCAL_DIR || ".stormlog",
): Cluster {
  if (env.STORMLOG_REGION_SECRET !== undefined) {
    throw new Error(
      "STORMLOG_REGION_SECRET is no longer read: the admin CLI signs with STORMLOG_ADMIN_SECRET (and STORMLOG_REGIONS lists the regions' admin URLs)",
    );
  }
  if (env.STORMLOG_REGIONS === undefined) return loadLocalCluster(localDir);
  const fields = {
    STORMLOG_REGIONS: regionsSchema,
    STORMLOG_KEY_SECRET: secretSchema,
    STORMLOG_ADMIN_SECRET: secretSchema,
  };
  const parsed: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(fields)) {
    const raw = env[name];
    const value = name === "STORMLOG_REGIONS" ? parseJson(name, raw) : raw;
    const result = schema.safeParse(value);
    if (!result.success) throw new Error(`${name}: ${result.error.issues[0]?.message ?? "invalid"}`);
    parsed[name] = result.data;
  }
  return {
    regions: parsed.STORMLOG_REGIONS as Cluster["regions"],
    keySecret: parsed.STORMLOG_KEY_SECRET as string,
    adminSecret: parsed.STORMLOG_ADMIN_SECRET as string,
  };
}

type LocalFiles = {
  local: { regions: { name: string; adminUrl: string }[] };
  secrets: { keySecret: string; adminSecret: string };
};

function loadLocalCluster(localDir: string): Cluster {
  let files: LocalFiles;
  try {
    files = {
      local: JSON.parse(readFileSync(`${localDir}/local.json`, "utf8")),
      secrets: JSON.parse(readFileSync(`${localDir}/secrets.json`, "utf8")),
    };
  } catch {
    throw new Error(
      `STORMLOG_REGIONS is not set and there is no local system in ${localDir}/ (run \`npm start\` once, or set STORMLOG_REGIONS, STORMLOG_KEY_SECRET and STORMLOG_ADMIN_SECRET)`,
    );
  }
  const { local, secrets } = files;
  if (!secrets.adminSecret || local.regions.some((region) => !region.adminUrl)) {
    throw new Error(`the local system in ${localDir}/ predates admin listeners: run \`npm start\` once to update it`);
  }
  return {
    regions: local.regions.map((region) => ({ name: region.name, url: region.adminUrl })),
    keySecret: secrets.keySecret,
    adminSecret: secrets.adminSecret,
  };
}

function parseJson(name: string, raw: string | undefined): unknown {
  try {
    return raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    throw new Error(`${name}: not valid JSON`);
  }
}
