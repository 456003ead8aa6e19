/**
 * The edge's Hono app: request id, the request log and count (request-log.ts), validated bindings and
 * services, the v1 routes, and the one error handler. `index.ts` only hands it to the runtime;
 * tests build it with other services through `createEdgeApp`.
 *
 *   POST /v1/batches  ingest key  bound, validate, route (or spool)      routes/batches.ts
 *   GET  /v1/logs     read key    validate the query, route              routes/logs.ts
 *   POST /v1/logs     ingest key  OTLP/HTTP logs, JSON or protobuf       routes/otlp-logs.ts
 *   POST /bugfender/… ingest key  the Bugfender web SDK's protocol       routes/bugfender.ts
 *   GET  /v1/devices  read key    validate the query, route              routes/devices.ts
 *   DELETE /v1/devices/:id  manage key  erase a device in every region   routes/device-erasure.ts
 *   GET  /v1/erasures/:id  read key  each region's progress on it        routes/erasures.ts
 *   GET  /v1/tail     read key    validate the query, route              routes/tail.ts
 *   GET  /v1/stats/volume  read key  resolve the window, route           routes/volume.ts
 *   GET  /v1/regions  read key    health table and each region's app digest  routes/regions.ts
 *   GET  /v1/app      read key    the app's settings, from one region    routes/app-settings.ts
 *   PATCH /v1/app     manage key  a settings change, to every region     routes/app-settings.ts
 *   PUT  /v1/settings, /v1/devices/:id/settings  manage key  remote logging control, to every region
 *   GET  /v1/settings  ingest key  the settings a device obeys, from the edge's cache  routes/device-settings.ts
 *   GET  /v1/usage    read key    lines and bytes kept per day, route    routes/usage.ts
 *   GET  /v1/issues[/{id}]  read key  issue groups, route                routes/issues.ts
 *   PATCH /v1/issues/{id}  manage key  a status change, to every region   routes/issues.ts
 *   PUT  /v1/webhook  manage key  the issue webhook, to every region     routes/webhook.ts
 *   GET  /v1/health   none        each region's state, score and order   routes/health.ts
 *   …/v1/console/session, POST /v1/console/sign-in-links, GET /console/sign-in:
 *                     the console's sign-in      routes/console-session.ts, console-sign-in.ts
 *
 * Every other path is the console's static assets (wrangler.toml `[assets]`), served before the
 * Worker runs; only `/v1/*`, `/console/*` and `/bugfender/*` reach this app.
 */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { ApiError, errorBody } from "../shared/errors.ts";
import { bindingsOf, type EdgeConfig, loadConfig } from "./config.ts";
import { type EdgeEnv, httpServices, type Services, type ServicesFactory } from "./context.ts";
import { browserCors } from "./cors.ts";
import { requestLog } from "./request-log.ts";
import { appSettings } from "./routes/app-settings.ts";
import { batches } from "./routes/batches.ts";
import { bugfender } from "./routes/bugfender.ts";
import { consoleSession } from "./routes/console-session.ts";
import { signIn, signInLinks } from "./routes/console-sign-in.ts";
import { deviceErasure } from "./routes/device-erasure.ts";
import { deviceSettingsRoute, settings } from "./routes/device-settings.ts";
import { devices } from "./routes/devices.ts";
import { erasures } from "./routes/erasures.ts";
import { health } from "./routes/health.ts";
import { issues } from "./routes/issues.ts";
import { logs } from "./routes/logs.ts";
import { otlpLogs } from "./routes/otlp-logs.ts";
import { regions } from "./routes/regions.ts";
import { tail } from "./routes/tail.ts";
import { usage } from "./routes/usage.ts";
import { volume } from "./routes/volume.ts";
import { webhook } from "./routes/webhook.ts";

export function createEdgeApp(makeServices: ServicesFactory = httpServices) {
  // Services hold per-isolate state (the revocation cache), so build them once per config.
  const built = new WeakMap<EdgeConfig, Services>();

  const app = new Hono<EdgeEnv>();
  app.use(requestId());
  app.use(requestLog());
  app.use(async (c, next) => {
    const config = loadConfig(c.env);
    const bindings = bindingsOf(c.env);
    let services = built.get(config);
    if (!services) {
      services = makeServices(config, bindings);
      built.set(config, services);
    }
    c.set("config", config);
    c.set("bindings", bindings);
    c.set("services", services);
    await next();
  });

  app.use("/v1/batches", browserCors);
  app.use("/v1/logs", browserCors);
  app.use("/v1/settings", browserCors);
  app.route("/v1/batches", batches);
  app.route("/v1/logs", logs);
  app.route("/v1/logs", otlpLogs);
  app.route("/bugfender", bugfender);
  app.route("/v1/devices", devices);
  app.route("/v1/devices", deviceErasure);
  app.route("/v1/devices", deviceSettingsRoute);
  app.route("/v1/settings", settings);
  app.route("/v1/erasures", erasures);
  app.route("/v1/tail", tail);
  app.route("/v1/stats/volume", volume);
  app.route("/v1/health", health);
  app.route("/v1/regions", regions);
  app.route("/v1/app", appSettings);
  app.route("/v1/usage", usage);
  app.route("/v1/issues", issues);
  app.route("/v1/webhook", webhook);
  app.route("/v1/console/session", consoleSession);
  app.route("/v1/console/sign-in-links", signInLinks);
  app.route("/console/sign-in", signIn);

  app.notFound((c) =>
    c.json(errorBody("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`, c.var.requestId), 404),
  );
  app.onError((error, c) => {
    if (error instanceof ApiError) {
      if (error.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.retryAfterSeconds));
      return c.json(errorBody(error.code, error.message, c.var.requestId), error.status);
    }
    // Anything else is a bug: the stack goes to the request log line, never to the client.
    return c.json(errorBody("INTERNAL", "internal error", c.var.requestId), 500);
  });
  return app;
}

export const app = createEdgeApp();
