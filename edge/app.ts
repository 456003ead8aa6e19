/**
 * The edge's Hono app: request id, one structured log line per request, validated bindings and
 * services, the v1 routes, and the one error handler. `index.ts` only hands it to the runtime;
 * tests build it with other services through `createApp`.
 *
 *   POST /v1/batches  ingest key  bound, validate, forward to a region   routes/batches.ts
 *   GET  /v1/logs     read key    validate the query, forward            routes/logs.ts
 *   GET  /v1/devices  read key    forward                                routes/devices.ts
 *   GET  /v1/health   none        configured regions                     routes/health.ts
 */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { ApiError, errorBody } from "../shared/errors.ts";
import { type EdgeConfig, loadConfig } from "./config.ts";
import { type EdgeEnv, httpServices, type Services, type ServicesFactory } from "./context.ts";
import { batches } from "./routes/batches.ts";
import { devices } from "./routes/devices.ts";
import { health } from "./routes/health.ts";
import { logs } from "./routes/logs.ts";

export function createApp(makeServices: ServicesFactory = httpServices) {
  // Services hold per-isolate state (the revocation cache), so build them once per config.
  const built = new WeakMap<EdgeConfig, Services>();

  const app = new Hono<EdgeEnv>();
  app.use(requestId());
  app.use(async (c, next) => {
    const startedMs = Date.now();
    await next();
    const error = c.error instanceof ApiError ? c.error.code : c.error ? String(c.error.stack ?? c.error) : undefined;
    console.log(
      JSON.stringify({
        event: "request",
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Date.now() - startedMs,
        requestId: c.var.requestId,
        region: c.var.region ?? null,
        ...(error === undefined ? {} : { error }),
      }),
    );
  });
  app.use(async (c, next) => {
    const config = loadConfig(c.env);
    let services = built.get(config);
    if (!services) {
      services = makeServices(config);
      built.set(config, services);
    }
    c.set("config", config);
    c.set("services", services);
    await next();
  });

  app.route("/v1/batches", batches);
  app.route("/v1/logs", logs);
  app.route("/v1/devices", devices);
  app.route("/v1/health", health);

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

export const app = createApp();
