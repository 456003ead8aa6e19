/**
 * CORS for the ingest routes browsers call directly: the Stormlog SDK (`POST /v1/batches`) and
 * OpenTelemetry's browser exporter (`POST /v1/logs`) send JSON with an Authorization header, so
 * every call is preflighted. Any origin may upload: the app key, not the origin, is the
 * credential, and no cookie is ever involved. (The Bugfender routes carry their own, for the
 * headers that SDK sends.)
 */
import { cors } from "hono/cors";

export const browserCors = cors({
  origin: "*",
  allowMethods: ["GET", "POST", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id"],
  exposeHeaders: ["X-Request-Id", "X-Stormlog-Region", "Retry-After"],
  maxAge: 86_400,
});
