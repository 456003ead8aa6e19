/**
 * What the edge records of each request, cheaply. With observability on (wrangler.toml
 * `[observability]`), the Workers runtime already records every invocation: its URL, method,
 * status, duration, CPU time and outcome. So the edge does not log every request again (a
 * `console.log` of JSON cost 1.66 ms per upload under workerd); it logs what the runtime cannot
 * know: failures with their error code (or the stack of a bug), and routing decisions (a failover:
 * which regions were skipped and why; a spool). Of the plain successes it logs the first and then
 * one in `LOG_SAMPLE_EVERY` (default 100; 1 logs all, 0 none), enough to see their shape and
 * request ids.
 *
 * Counting is apart from logging: one Workers Analytics Engine data point per request (binding
 * `EDGE_ANALYTICS`, optional: without it, nothing is counted, and the log still has the failures)
 * says what became of it, so operators can count uploads routed, failed over, spooled and
 * rejected over time without reading logs:
 *
 *   index   outcome
 *   blobs   outcome, method, route (the path's first two segments), region ("spool" when
 *           spooled), error code, skipped regions ("eu-west:overloaded;us-east:timeout")
 *   doubles status, milliseconds, regions skipped
 *
 * Outcomes: `routed` (a region answered first time), `failed_over` (after skipping at least one),
 * `spooled`, `rejected` (a 4xx: the client's request, or a region's verdict on it), `failed` (a
 * 5xx: no region could answer, or a bug), `served` (answered by the edge itself: health, cached
 * settings, the console's session).
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../shared/errors.ts";
import type { EdgeEnv } from "./context.ts";
import type { SkippedRegion } from "./region-client.ts";

export const defaultLogSampleEvery = 100;

export type Outcome = "routed" | "failed_over" | "spooled" | "rejected" | "failed" | "served";

/** What became of a request, from its status and what routing recorded. */
export function outcomeOf(status: number, region: string | undefined, skipped: readonly SkippedRegion[]): Outcome {
  if (region === "spool") return "spooled";
  if (status >= 500) return "failed";
  if (status >= 400) return "rejected";
  if (skipped.length > 0) return "failed_over";
  return region === undefined ? "served" : "routed";
}

/** "/v1/devices/abc/settings" → "/v1/devices": the route, without ids a tenant chose. */
function routeOf(path: string): string {
  const [, first = "", second = ""] = path.split("/", 3);
  return second === "" ? `/${first}` : `/${first}/${second}`;
}

/** The middleware, with its own sampling counter (one per app, so per isolate). */
export function requestLog(): MiddlewareHandler<EdgeEnv> {
  let successes = 0;
  return async (c, next) => {
    const startedMs = Date.now();
    await next();
    const status = c.res.status;
    const region = c.var.region;
    const skipped = c.var.skipped ?? [];
    const outcome = outcomeOf(status, region, skipped);
    const error = c.error instanceof ApiError ? c.error.code : c.error ? String(c.error.stack ?? c.error) : undefined;
    const code = c.error instanceof ApiError ? c.error.code : "";
    const ms = Date.now() - startedMs;
    const skippedText = skipped.map((skip) => `${skip.region}:${skip.cause}`).join(";");

    c.var.bindings?.analytics?.writeDataPoint({
      indexes: [outcome],
      blobs: [outcome, c.req.method, routeOf(c.req.path), region ?? "", code, skippedText],
      doubles: [status, ms, skipped.length],
    });

    // A success with nothing routing decided is what the runtime's own record says: sampled.
    if (outcome === "routed" || outcome === "served") {
      // No config means the request failed before it was read (BAD_ENVIRONMENT): logged below.
      const every = c.var.config?.logSampleEvery ?? 1;
      if (every === 0 || successes++ % every !== 0) return;
    }
    console.log(
      JSON.stringify({
        event: "request",
        outcome,
        method: c.req.method,
        path: c.req.path,
        status,
        ms,
        requestId: c.var.requestId,
        region: region ?? null,
        ...(skipped.length === 0 ? {} : { skipped: skippedText }),
        ...(error === undefined ? {} : { error }),
      }),
    );
  };
}
