/**
 * The regional worker's HTTP apps, apart from its runtime entry (server.ts) so tests can call
 * them in-process. Two listeners, two apps:
 *
 * - `createRegionApp` (STORMLOG_PORT): the unsigned probes, the edge's routes (uploads, reads, the
 *   revocation list; signed as `edge`) and the peers' routes (replicate, sync; signed as `peer`).
 * - `createAdminApp` (STORMLOG_ADMIN_PORT, loopback by default): apps, keys, revocations,
 *   erasures and the digests of `admin verify`, signed as `admin`. No path of it exists on the main port.
 *
 * Each route accepts one caller role (signature.ts), so a leaked edge secret signs no peer or
 * admin call. Every request gets a request id (the caller's X-Request-Id when it sends one) and
 * one log event. Signed calls are counted as in flight, so shutdown can wait for them; while
 * draining they are refused with 503 so the caller fails over to another region. Errors take one
 * path: handlers throw `ApiError`, `onError` answers with shared `errorBody`. A database error
 * caused by the request's data (regional/db/errors.ts) is the caller's 400, never a 500:
 * validation refuses such values first, this is the net under it.
 */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { routePath } from "hono/route";
import { ApiError, errorBody } from "../shared/errors.ts";
import { internalPaths } from "../shared/regions.ts";
import type { RegionDeps, RegionEnv } from "./context.ts";
import { databaseFailure } from "./db/errors.ts";
import { appDigestRoute } from "./routes/app-digest.ts";
import { appKeysRoute } from "./routes/app-keys.ts";
import { adminAppSettingsRoute, appSettingsRoute } from "./routes/app-settings.ts";
import { appUpsertRoute } from "./routes/app-upsert.ts";
import { appsListRoute } from "./routes/apps-list.ts";
import { batchesRoute } from "./routes/batches.ts";
import { adminDeviceSettingsRoute, deviceSettingsRoute } from "./routes/device-settings.ts";
import { devicesRoute } from "./routes/devices.ts";
import { digestsRoute } from "./routes/digests.ts";
import { adminErasureRoute, erasureRoute } from "./routes/erasure.ts";
import { healthRoute } from "./routes/health.ts";
import { issuesRoute } from "./routes/issues.ts";
import { keyRevokeRoute } from "./routes/key-revoke.ts";
import { keysRevokedRoute } from "./routes/keys-revoked.ts";
import { logsRoute } from "./routes/logs.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { replicateRoute } from "./routes/replicate.ts";
import { syncRoute } from "./routes/sync.ts";
import { tailRoute } from "./routes/tail.ts";
import { usageRoute } from "./routes/usage.ts";
import { volumeRoute } from "./routes/volume.ts";
import { adminWebhookRoute, webhookRoute } from "./routes/webhooks.ts";
import { callerGuard } from "./signature.ts";

export function createRegionApp(deps: RegionDeps): Hono<RegionEnv> {
  const app = scaffold(deps, "/internal/*");
  app.route("/", healthRoute(deps));
  // Read latency by route pattern (never by app or device: one series per tenant otherwise).
  app.get("/internal/v1/*", async (c, next) => {
    const stopTimer = deps.metrics.readSeconds.startTimer();
    await next();
    if (c.res.status < 500) stopTimer({ route: routePath(c, -1) });
  });

  const edge = { ...deps, guard: callerGuard("edge", deps) };
  for (const route of [
    batchesRoute(edge),
    logsRoute(edge),
    devicesRoute(edge),
    volumeRoute(edge),
    tailRoute(edge),
    appDigestRoute(edge),
    appSettingsRoute(edge),
    deviceSettingsRoute(edge),
    usageRoute(edge),
    keysRevokedRoute(edge),
    erasureRoute(edge),
    issuesRoute(edge),
    webhookRoute(edge),
  ]) {
    app.route("/internal/v1", route);
  }
  const peer = { ...deps, guard: callerGuard("peer", deps) };
  app.route("/internal/v1", replicateRoute(peer));
  app.route("/internal/v1", syncRoute(peer));
  app.route("/internal/v1/sync", digestsRoute(peer));
  return app;
}

export function createAdminApp(deps: RegionDeps): Hono<RegionEnv> {
  const app = scaffold(deps, "/admin/*");
  app.route("/", metricsRoute(deps));
  const admin = { ...deps, guard: callerGuard("admin", deps) };
  for (const route of [
    appUpsertRoute(admin),
    appsListRoute(admin),
    appKeysRoute(admin),
    adminAppSettingsRoute(admin),
    adminDeviceSettingsRoute(admin),
    keyRevokeRoute(admin),
    digestsRoute(admin),
    adminErasureRoute(admin),
    adminWebhookRoute(admin),
  ]) {
    app.route("/admin/v1", route);
  }
  return app;
}

/** What both apps share: request ids, the request log, the drain, 404s and the error path. */
function scaffold({ logger, logSampleEvery, lifecycle }: RegionDeps, signedPaths: string): Hono<RegionEnv> {
  const app = new Hono<RegionEnv>();
  let successes = 0;
  const sampled = () => logSampleEvery > 0 && successes++ % logSampleEvery === 0;

  app.use(requestId());
  app.use(async (c, next) => {
    const startedMs = performance.now();
    await next();
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - startedMs) * 10) / 10,
      requestId: c.get("requestId"),
    };
    // Probes (every few seconds from the edge and the orchestrator) and anti-entropy rounds
    // (every few seconds from each peer) are background traffic: keep them out of the info log
    // unless they fail. Uploads and replicate calls come by the hundred a second, and the metrics
    // count them (`stormlog_ack_seconds`, …): of their plain successes, the first and then one in
    // `logSampleEvery` are logged at info, the rest at debug, as the edge samples its own
    // (edge/request-log.ts). Refusals, reads and admin calls are always logged.
    const background =
      (!c.req.path.startsWith("/internal/") && !c.req.path.startsWith("/admin/")) ||
      c.req.path.startsWith("/internal/v1/sync/");
    const perBatch =
      c.req.method === "POST" && (c.req.path === internalPaths.replicate || c.req.path.endsWith("/batches"));
    if (c.res.status >= 500) logger.warn(fields, "request");
    else if (background || (perBatch && c.res.status < 400 && !sampled())) logger.debug(fields, "request");
    else logger.info(fields, "request");
    // While draining, close each connection after its answer, so no caller sends its next
    // request down a keep-alive connection that shutdown is about to cut.
    if (lifecycle.draining) c.res.headers.set("Connection", "close");
  });

  app.use(signedPaths, async (_c, next) => {
    if (lifecycle.draining) {
      throw new ApiError("REGION_UNAVAILABLE", "region is shutting down", { retryAfterSeconds: 1 });
    }
    lifecycle.inFlight += 1;
    try {
      await next();
    } finally {
      lifecycle.inFlight -= 1;
    }
  });

  app.notFound((c) =>
    c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`, c.get("requestId")), 404),
  );
  app.onError((error, c) => {
    const id = c.get("requestId") ?? "";
    if (error instanceof ApiError) {
      if (error.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.retryAfterSeconds));
      return c.json(errorBody(error.code, error.message, id), error.status);
    }
    const failure = databaseFailure(error);
    if (failure?.causedBy === "data") {
      logger.warn({ err: error, requestId: id }, "the database refused a value of this request");
      const message = `a value in this request cannot be stored (SQLSTATE ${failure.sqlState})`;
      return c.json(errorBody("BAD_REQUEST", message, id), 400);
    }
    logger.error({ err: error, requestId: id }, "unhandled error");
    return c.json(errorBody("INTERNAL", "internal error", id), 500);
  });
  return app;
}
