/**
 * Not a route: turns what the router returned into the edge's answer. A region's answer (its
 * status and JSON, a 202 receipt as well as a 409 conflict) is passed through as is, tagged with
 * `X-Stormlog-Region` (and its `Retry-After`, which a 503 QUORUM_UNAVAILABLE carries: the batch
 * is stored in that region, short of its quorum, and the client retries it); a region's refusal of the client's read key (401 APP_KEY_REJECTED, the only
 * 401 the router returns) reaches the client as the edge's own 401 UNAUTHORIZED. When no region
 * answered the client gets 503 REGION_UNAVAILABLE with a `Retry-After`, so SDKs keep the batch
 * and try again; when every region that answered failed on this very request, 500 INTERNAL (the
 * request's fault, or ours, but not a region's).
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { describeIssues } from "../../shared/batch.ts";
import { ApiError, parseErrorBody } from "../../shared/errors.ts";
import { queryToInput, queryToParams } from "../../shared/read.ts";
import type { Result } from "../../shared/result.ts";
import type { EdgeEnv } from "../context.ts";
import {
  attemptTimeoutMs,
  createRegionClient,
  describeSkipped,
  describeUnavailable,
  type RegionAnswer,
} from "../region-client.ts";
import { clientLocation } from "./choice.ts";
import type { RouteContext, RouteFailure } from "./router.ts";

export const regionHeader = "X-Stormlog-Region";

/** Seconds a client should wait when no region answered. */
export const regionRetryAfterSeconds = 5;

/** What the router needs from the request: where the client is, and how to work after the answer. */
export function routeContext(c: Context<EdgeEnv>): RouteContext {
  return {
    client: clientLocation(c.req.raw.cf),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    onSkipped: ({ region, cause, reason }) => {
      const skipped = c.var.skipped ?? [];
      skipped.push({ region, cause, reason });
      c.set("skipped", skipped);
    },
  };
}

/**
 * One read, the way every read endpoint does it: the query is parsed with its schema from
 * shared/ (a bad parameter is a 400 naming it, and no region is asked), then forwarded in its
 * normalized form with the client's read key, which the region checks again by itself, to the
 * healthiest region that answers; that region's answer is passed through.
 *
 * @example forwardRead(c, logQuerySchema, internalPaths.logs)
 */
export async function forwardRead(
  c: Context<EdgeEnv>,
  schema: z.ZodType<Record<string, unknown>>,
  path: (appId: string) => string,
): Promise<Response> {
  const parsed = schema.safeParse(queryToInput(c.req.query()));
  if (!parsed.success) throw new ApiError("BAD_REQUEST", describeIssues(parsed.error, "query"));
  const params = queryToParams(parsed.data).toString();
  const call = {
    method: "GET" as const,
    // No bare "?": a region signs the path it sees, and a URL drops an empty query.
    pathAndQuery: params === "" ? path(c.var.appId) : `${path(c.var.appId)}?${params}`,
    requestId: c.var.requestId,
    appKey: c.var.appKey,
  };
  return answerFromRegion(c, await c.var.services.router.forward(call, routeContext(c)));
}

export async function answerFromRegion(
  c: Context<EdgeEnv>,
  answer: Result<RegionAnswer, RouteFailure>,
): Promise<Response> {
  if (!answer.ok) throw routeError(answer.error);
  const { region, response } = answer.value;
  c.set("region", region.name);
  c.header(regionHeader, region.name);
  let body: string;
  try {
    body = await response.text();
  } catch {
    // The region answered, then stopped (or ran out of time) mid-body; what it did is unknown.
    throw unavailable(`region ${region.name} stopped answering mid-response`);
  }
  if (response.status === 401) {
    const refused = parseErrorBody(body)?.error.message ?? "app key refused";
    throw new ApiError("UNAUTHORIZED", `region ${region.name}: ${refused}`);
  }
  // A 503 QUORUM_UNAVAILABLE is passed on with the region's Retry-After: the batch is stored there.
  const retryAfter = response.headers.get("retry-after");
  return c.body(body, response.status as ContentfulStatusCode, {
    "Content-Type": response.headers.get("content-type") ?? "application/json",
    ...(retryAfter === null ? {} : { "Retry-After": retryAfter }),
  });
}

/** The client's answer when no region gave a verdict. */
export function routeError(failure: RouteFailure): ApiError {
  if (failure.kind === "request_failed") {
    const reasons = describeSkipped(failure.skipped);
    return new ApiError("INTERNAL", `every region that answered failed on this request (${reasons})`);
  }
  return unavailable(describeUnavailable(failure));
}

/** 503 REGION_UNAVAILABLE with Retry-After: no region gave a verdict, so the client keeps its data and retries. */
export function unavailable(message: string): ApiError {
  return new ApiError("REGION_UNAVAILABLE", message, { retryAfterSeconds: regionRetryAfterSeconds });
}

/**
 * A control-plane change (app settings, remote logging settings, an issue's status) goes to every
 * region at once, not to the healthiest: each keeps the latest change it heard and anti-entropy
 * brings it to a region that missed it. The client's answer is the first region's, in this client's
 * routing order, that stored it (its 200 body parsed with `schema`, turned into the response by
 * `answer`); else the verdict of a region that refused it (an app it does not know, a key it
 * refuses); else 503 with Retry-After: nothing changed, the client sends it again.
 */
export async function changeEveryRegion<S extends z.ZodType>(
  c: Context<EdgeEnv>,
  change: { pathAndQuery: string; body: unknown },
  schema: S,
  answer: (stored: z.output<S>) => Response,
): Promise<Response> {
  const plan = await c.var.services.router.plan(clientLocation(c.req.raw.cf));
  const byOrder = [...plan].sort(
    (a, b) => (a.order ?? Number.POSITIVE_INFINITY) - (b.order ?? Number.POSITIVE_INFINITY),
  );
  const client = createRegionClient({ edgeSecret: c.var.config.edgeSecret });
  const call = {
    method: "PUT" as const,
    pathAndQuery: change.pathAndQuery,
    body: JSON.stringify(change.body),
    requestId: c.var.requestId,
    appKey: c.var.appKey,
  };
  const answers = await Promise.all(
    byOrder.map(async ({ region }) => {
      const sent = await client.forward([region], call, { deadlineMs: attemptTimeoutMs });
      return sent.ok ? sent : null;
    }),
  );
  for (const sent of answers) {
    if (sent?.value.response.status !== 200) continue;
    const parsed = schema.safeParse(await sent.value.response.json().catch(() => null));
    if (!parsed.success) continue;
    c.set("region", sent.value.region.name);
    c.header(regionHeader, sent.value.region.name);
    return answer(parsed.data);
  }
  const refused = answers.find((sent) => sent !== null);
  if (refused) return answerFromRegion(c, refused);
  throw unavailable("no region stored the change; nothing changed, try again");
}
