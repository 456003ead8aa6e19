/**
 * Bugfender-compatible ingest, mounted at `/bugfender`: the official web SDK (`@bugfender/sdk`)
 * works unmodified with `apiURL: "<edge>/bugfender"` and the Stormlog ingest key as its `appKey`
 * (sent as `X-App-Token`). CORS lets any page origin call it; the SDK posts JSON with custom
 * headers, so browsers preflight every call.
 *
 *   POST /app/device-status  whether the device may log (remote logging control)  {logger_enabled}
 *   POST /session            device info → a signed session id          {id}
 *   POST /log/batch          {session_id, logs: [{x, at, ll, tg, t, …}]} → one stored batch
 *   POST /issue              issue, crash or user feedback → one line   {id}
 *   POST /device/keyvalue    acknowledged; the SDK also logs the change as a line in /log/batch
 *
 * The SDK resends a request until it gets a 200, so batch ids come from the content: a resent
 * `/log/batch` is stored once. Lines a batch would refuse are dropped alone (counted in the
 * request log), or the SDK would resend them forever. A session is only minted for a device every
 * region can store (400 otherwise), and one request takes at most so many lines and batches (413).
 *
 * Remote logging control (routes/device-settings.ts) reaches the Bugfender SDK from the same
 * cache: `/app/device-status` answers `logger_enabled` from the device's settings (the SDK asks at
 * start and every 5 minutes, and keeps its lines while disabled), and `/log/batch` drops lines
 * below the device's minimum level, which the SDK has no way to be told. The session id is read
 * from the body's `session_id` or, as the native Bugfender SDKs send it, the `X-App-Session` header.
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { levelRank, parseUpload, parseWith } from "../../shared/batch.ts";
import { scopeValueSchema } from "../../shared/device-settings.ts";
import { ApiError } from "../../shared/errors.ts";
import { requireKey } from "../auth.ts";
import { readJson } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { checkDevice, checkRequestBatches, checkRequestLines } from "../ingest/batching.ts";
import {
  deviceFromSession,
  deviceStatusSchema,
  issueSchema,
  lineFromIssue,
  linesFromLogs,
  logBatchSchema,
  sessionRequestSchema,
} from "../ingest/bugfender.ts";
import { mintSessionId, openSessionId, type Session } from "../ingest/bugfender-session.ts";
import { checkLines, contentBatches, contentBatchId, deliverBatches, deliveryError } from "../ingest/deliver.ts";
import { settingsFor } from "./device-settings.ts";

const ingestKey = requireKey("ingest", { keyHeader: "X-App-Token" });

async function sessionOf(secret: string, appId: string, id: unknown): Promise<Session> {
  const session = await openSessionId(secret, appId, id);
  if (!session) throw new ApiError("INVALID_BODY", "session_id: not a session this edge issued for this app");
  return session;
}

/** The body's session id, else the `X-App-Session` header's (the native SDKs send it there). */
function sessionIdOf(c: Context<EdgeEnv>, inBody: unknown): unknown {
  return inBody ?? c.req.header("X-App-Session");
}

export const bugfender = new Hono<EdgeEnv>()
  .use(
    cors({
      origin: "*",
      allowMethods: ["POST", "OPTIONS"],
      allowHeaders: ["Content-Type", "X-App-Token", "X-App-Session", "X-User-Agent", "X-Request-Id"],
      exposeHeaders: ["X-Request-Id"],
      maxAge: 86_400,
    }),
  )
  .post("/app/device-status", ingestKey, async (c) => {
    const body = deviceStatusSchema.safeParse(await readJson(c.req.raw).catch(() => null));
    const device = body.success ? body.data.device : null;
    const scope = (value: string | null | undefined) => scopeValueSchema.safeParse(value).data;
    const settings = await settingsFor(c, scope(device?.udid), scope(device?.version));
    return c.json({ logger_enabled: settings.enabled }, 200);
  })
  .post("/session", ingestKey, async (c) => {
    const request = parseWith(sessionRequestSchema, await readJson(c.req.raw));
    const device = checkDevice("body", deviceFromSession(request));
    const uid = request.session_uid ?? crypto.randomUUID();
    return c.json({ id: await mintSessionId(c.var.config.keySecret, c.var.appId, { uid, device }) }, 200);
  })
  .post("/log/batch", ingestKey, async (c) => {
    const request = parseWith(logBatchSchema, await readJson(c.req.raw));
    checkRequestLines("logs", request.logs.length);
    const session = await sessionOf(c.var.config.keySecret, c.var.appId, sessionIdOf(c, request.session_id));
    const settings = await settingsFor(c, session.device.id, session.device.appVersion);
    const checked = checkLines(linesFromLogs(session, request.logs, Date.now()));
    // Below the device's minimum level: acknowledged and not stored, as if never logged.
    const below = checked.lines.filter((line) => levelRank(line.level) < levelRank(settings.minLevel));
    checked.lines = checked.lines.filter((line) => !below.includes(line));
    const batches = await contentBatches(c.var.config.keySecret, "bf", c.var.appId, session.device, checked.lines);
    checkRequestBatches(batches.length);
    const delivered = await deliverBatches(c, batches);
    if (!delivered.ok) throw deliveryError(delivered.error);
    return c.json({ accepted: checked.lines.length, rejected: checked.rejected }, 200);
  })
  .post("/issue", ingestKey, async (c) => {
    const issue = parseWith(issueSchema, await readJson(c.req.raw));
    const session = await sessionOf(c.var.config.keySecret, c.var.appId, sessionIdOf(c, issue.session_id));
    // One batch per issue id: a resent issue is the same batch (its time aside, see below).
    const batchId = await contentBatchId(c.var.config.keySecret, "bf-issue", c.var.appId, issue.uid);
    const batch = parseUpload({ batchId, device: session.device, logs: [lineFromIssue(session, issue, Date.now())] });
    const delivered = await deliverBatches(c, [batch]);
    // A conflict: the issue was stored by an earlier attempt (with that attempt's receive time).
    const storedBefore =
      !delivered.ok && delivered.error.cause === "refused" && delivered.error.code === "BATCH_CONFLICT";
    if (!delivered.ok && !storedBefore) throw deliveryError(delivered.error);
    return c.json({ id: issue.uid }, 200);
  })
  .post("/device/keyvalue", ingestKey, (c) => c.json({}, 200));
