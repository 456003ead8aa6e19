/**
 * The edge's bindings, validated at the boundary. This is the only module that reads the Worker's
 * `env`: `REGIONS` (a JSON list of regional backends with their locations, a wrangler var),
 * `HEALTH_PROBE_INTERVAL_MS` (how often the health object probes the regions), `KEY_SECRET` (the
 * HMAC secret app keys are minted with), `EDGE_SECRET` (the HMAC secret that signs calls to
 * regions as the edge: the regions' STORMLOG_EDGE_SECRET, which signs no peer or admin call) and
 * `SPOOL_SECRET` (seals spooled batches; only the edge holds it) and `CONSOLE_SECRET` (signs the
 * console's session cookie), all four secrets; `LOG_SAMPLE_EVERY` (one plain success in so many is
 * logged, request-log.ts). A missing or
 * invalid binding is an operator error: every request answers 500 BAD_ENVIRONMENT naming the
 * binding, rather than half-working.
 *
 * The object bindings (the health Durable Object, the spool queues and bucket, the rate limits)
 * are optional: without them the edge still routes, on what its own isolate has seen, answers 503
 * instead of spooling and limits no app (see `bindingsOf`).
 */
import { z } from "zod";
import { describeIssues } from "../shared/batch.ts";
import { ApiError } from "../shared/errors.ts";
import { type RoutedRegion, routedRegionsSchema } from "../shared/regions.ts";
import type { ConsoleSessions } from "./console/sessions.ts";
import type { RegionHealth } from "./health/object.ts";
import { defaultLogSampleEvery } from "./request-log.ts";

export type EdgeConfig = {
  readonly regions: readonly RoutedRegion[];
  readonly probeIntervalMs: number;
  readonly keySecret: string;
  readonly edgeSecret: string;
  readonly spoolSecret: string;
  /** Signs the console's session cookie (console/cookie.ts). */
  readonly consoleSecret: string;
  /** One plain success in this many is logged (request-log.ts); 0 logs none, 1 all. */
  readonly logSampleEvery: number;
};

/** Below this an HMAC secret is guessable; the admin CLI generates far longer ones. */
const secretLengthMin = 16;
const secretSchema = z.string().min(secretLengthMin, `expected a secret of at least ${secretLengthMin} characters`);

export const defaultProbeIntervalMs = 5000;
const probeIntervalSchema = z.coerce.number().int().min(200).max(600_000);
const logSampleEverySchema = z.coerce.number().int().min(0).max(1_000_000);

/** Parsed configs by their raw binding values: an isolate serves one env, tests a handful. */
const parsed = new Map<string, EdgeConfig>();
const parsedEntriesMax = 8;

/** The validated config for these bindings; throws ApiError BAD_ENVIRONMENT naming the binding. */
export function loadConfig(env: Env): EdgeConfig {
  const raw = env as Partial<
    Record<
      | "REGIONS"
      | "HEALTH_PROBE_INTERVAL_MS"
      | "KEY_SECRET"
      | "EDGE_SECRET"
      | "SPOOL_SECRET"
      | "CONSOLE_SECRET"
      | "LOG_SAMPLE_EVERY",
      unknown
    >
  >;
  const cacheKey = JSON.stringify([
    raw.REGIONS,
    raw.HEALTH_PROBE_INTERVAL_MS,
    raw.KEY_SECRET,
    raw.EDGE_SECRET,
    raw.SPOOL_SECRET,
    raw.CONSOLE_SECRET,
    raw.LOG_SAMPLE_EVERY,
  ]);
  const cached = parsed.get(cacheKey);
  if (cached) return cached;
  const config: EdgeConfig = {
    regions: parseRegions(raw.REGIONS),
    probeIntervalMs:
      raw.HEALTH_PROBE_INTERVAL_MS === undefined || raw.HEALTH_PROBE_INTERVAL_MS === ""
        ? defaultProbeIntervalMs
        : parseBinding("HEALTH_PROBE_INTERVAL_MS", probeIntervalSchema, raw.HEALTH_PROBE_INTERVAL_MS),
    keySecret: parseBinding("KEY_SECRET", secretSchema, raw.KEY_SECRET),
    edgeSecret: parseBinding("EDGE_SECRET", secretSchema, raw.EDGE_SECRET),
    spoolSecret: parseBinding("SPOOL_SECRET", secretSchema, raw.SPOOL_SECRET),
    consoleSecret: parseBinding("CONSOLE_SECRET", secretSchema, raw.CONSOLE_SECRET),
    logSampleEvery:
      raw.LOG_SAMPLE_EVERY === undefined || raw.LOG_SAMPLE_EVERY === ""
        ? defaultLogSampleEvery
        : parseBinding("LOG_SAMPLE_EVERY", logSampleEverySchema, raw.LOG_SAMPLE_EVERY),
  };
  if (parsed.size >= parsedEntriesMax) parsed.clear();
  parsed.set(cacheKey, config);
  return config;
}

/** The object bindings; each may be absent (see the module header). */
export type EdgeBindings = {
  readonly health?: DurableObjectNamespace<RegionHealth>;
  readonly spool?: Queue;
  /** Where the consumer moves spooled batches that must not be delivered (consumer.ts). */
  readonly spoolDead?: Queue;
  readonly spoolBlobs?: R2Bucket;
  /** Per-app limits (rate-limit.ts): uploads, and reads, each counted apart. */
  readonly uploadRateLimit?: RateLimit;
  readonly readRateLimit?: RateLimit;
  /** The console's sessions and sign-in links (console/sessions.ts); the console needs it. */
  readonly consoleSessions?: DurableObjectNamespace<ConsoleSessions>;
  /** Where each request's outcome is counted (request-log.ts); without it nothing is counted. */
  readonly analytics?: AnalyticsEngineDataset;
};

export function bindingsOf(env: Env): EdgeBindings {
  const raw = env as Partial<
    Record<
      | "REGION_HEALTH"
      | "SPOOL"
      | "SPOOL_DEAD"
      | "SPOOL_BLOBS"
      | "UPLOAD_RATE_LIMIT"
      | "READ_RATE_LIMIT"
      | "CONSOLE_SESSIONS"
      | "EDGE_ANALYTICS",
      unknown
    >
  >;
  return {
    health: isObject(raw.REGION_HEALTH) ? (raw.REGION_HEALTH as DurableObjectNamespace<RegionHealth>) : undefined,
    spool: isObject(raw.SPOOL) ? (raw.SPOOL as Queue) : undefined,
    spoolDead: isObject(raw.SPOOL_DEAD) ? (raw.SPOOL_DEAD as Queue) : undefined,
    spoolBlobs: isObject(raw.SPOOL_BLOBS) ? (raw.SPOOL_BLOBS as R2Bucket) : undefined,
    uploadRateLimit: isObject(raw.UPLOAD_RATE_LIMIT) ? (raw.UPLOAD_RATE_LIMIT as RateLimit) : undefined,
    readRateLimit: isObject(raw.READ_RATE_LIMIT) ? (raw.READ_RATE_LIMIT as RateLimit) : undefined,
    consoleSessions: isObject(raw.CONSOLE_SESSIONS)
      ? (raw.CONSOLE_SESSIONS as DurableObjectNamespace<ConsoleSessions>)
      : undefined,
    analytics: isObject(raw.EDGE_ANALYTICS) ? (raw.EDGE_ANALYTICS as AnalyticsEngineDataset) : undefined,
  };
}

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null;
}

function parseRegions(value: unknown): RoutedRegion[] {
  const text = parseBinding("REGIONS", z.string(), value);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badEnvironment("REGIONS", "not valid JSON");
  }
  const regions = parseBinding("REGIONS", routedRegionsSchema, json);
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
