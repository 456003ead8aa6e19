/**
 * The edge's bindings, validated at the boundary. This is the only module that reads the Worker's
 * `env`: `REGIONS` (a JSON list of regional backends, a wrangler var), `KEY_SECRET` (the HMAC
 * secret app keys are minted with) and `REGION_SECRET` (the HMAC secret that signs calls to
 * regions), both secrets. A missing or invalid binding is an operator error: every request
 * answers 500 BAD_ENVIRONMENT naming the binding, rather than half-working.
 */
import { z } from "zod";
import { describeIssues } from "../shared/batch.ts";
import { ApiError } from "../shared/errors.ts";
import { type Region, regionsSchema } from "../shared/regions.ts";

export type EdgeConfig = {
  readonly regions: readonly Region[];
  readonly keySecret: string;
  readonly regionSecret: string;
};

/** Below this an HMAC secret is guessable; the admin CLI generates far longer ones. */
const secretLengthMin = 16;
const secretSchema = z.string().min(secretLengthMin, `expected a secret of at least ${secretLengthMin} characters`);

/** Parsed configs by their raw binding values: an isolate serves one env, tests a handful. */
const parsed = new Map<string, EdgeConfig>();
const parsedEntriesMax = 8;

/** The validated config for these bindings; throws ApiError BAD_ENVIRONMENT naming the binding. */
export function loadConfig(env: Env): EdgeConfig {
  const raw = env as Partial<Record<"REGIONS" | "KEY_SECRET" | "REGION_SECRET", unknown>>;
  const cacheKey = JSON.stringify([raw.REGIONS, raw.KEY_SECRET, raw.REGION_SECRET]);
  const cached = parsed.get(cacheKey);
  if (cached) return cached;
  const config: EdgeConfig = {
    regions: parseRegions(raw.REGIONS),
    keySecret: parseBinding("KEY_SECRET", secretSchema, raw.KEY_SECRET),
    regionSecret: parseBinding("REGION_SECRET", secretSchema, raw.REGION_SECRET),
  };
  if (parsed.size >= parsedEntriesMax) parsed.clear();
  parsed.set(cacheKey, config);
  return config;
}

function parseRegions(value: unknown): Region[] {
  const text = parseBinding("REGIONS", z.string(), value);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badEnvironment("REGIONS", "not valid JSON");
  }
  const regions = parseBinding("REGIONS", regionsSchema, json);
  const names = new Set(regions.map((region) => region.name));
  if (names.size !== regions.length) throw badEnvironment("REGIONS", "region names must be unique");
  return regions;
}

function parseBinding<T extends z.ZodType>(name: string, schema: T, value: unknown): z.output<T> {
  if (value === undefined || value === "") throw badEnvironment(name, "missing");
  const result = schema.safeParse(value);
  if (!result.success) throw badEnvironment(name, describeIssues(result.error, "value"));
  return result.data;
}

function badEnvironment(name: string, problem: string): ApiError {
  return new ApiError("BAD_ENVIRONMENT", `binding ${name}: ${problem}`);
}
