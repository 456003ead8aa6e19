/**
 * The console's sign-in, as the console page calls it (same origin, JSON):
 *
 *   POST   /v1/console/session  {key}   a read or manage key signs this browser in to its app (a
 *                                       manage key's session may also change settings and erase);
 *                                       an ingest key is refused (403) saying so. Sets the cookie.
 *   GET    /v1/console/session          the apps this browser has a live session for
 *   DELETE /v1/console/session?app=ID   signs out of one app (or of all, without `app`): the
 *                                       sessions end at the edge, so the old cookie gets 401
 *
 * The key goes to the ConsoleSessions object and stays there; the browser gets only the signed
 * cookie of session ids (console/cookie.ts). Several apps share one cookie, one session each.
 */
import { type Context, Hono } from "hono";
import { describeIssues } from "../../shared/batch.ts";
import { type ConsoleSession, consoleCookieName, consoleSessionTtlMs, signInBodySchema } from "../../shared/console.ts";
import { ApiError } from "../../shared/errors.ts";
import { checkKey } from "../auth.ts";
import { encodeCookie, setCookieHeader } from "../console/cookie.ts";
import { cookieSessions, requireSameOrigin, sessionStore } from "../console/session.ts";
import type { SessionGrant } from "../console/sessions.ts";
import type { EdgeEnv } from "../context.ts";

/** Bodies here are one key: anything longer is not a sign-in. */
const signInBodyBytesMax = 1024;

export const consoleSession = new Hono<EdgeEnv>()
  .post("/", async (c) => {
    requireSameOrigin(c);
    const text = await c.req.text();
    if (text.length > signInBodyBytesMax) throw new ApiError("PAYLOAD_TOO_LARGE", "a sign-in body is one key");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError("INVALID_BODY", 'expected JSON: {"key": "<read key>"}');
    }
    const body = signInBodySchema.safeParse(json);
    if (!body.success) throw new ApiError("INVALID_BODY", describeIssues(body.error, "body"));
    const key = body.data.key.trim();
    if (key.startsWith("sl_ingest_")) {
      throw new ApiError(
        "FORBIDDEN",
        "this is an ingest key, which can only upload: the console signs in with the app's read or manage key",
      );
    }
    const { appId } = await checkKey(c, key, "read");
    const grant = await sessionStore(c).create("session", appId, key, consoleSessionTtlMs);
    return answerWithSession(c, appId, grant.id, key);
  })
  .get("/", async (c) => {
    requireSameOrigin(c);
    return c.json({ apps: await liveApps(c) });
  })
  .delete("/", async (c) => {
    requireSameOrigin(c);
    const cookie = await cookieSessions(c);
    const only = c.req.query("app");
    const ending = Object.entries(cookie?.sessions ?? {}).filter(([appId]) => only === undefined || appId === only);
    if (ending.length > 0) await sessionStore(c).end(ending.map(([, id]) => id));
    const kept = Object.fromEntries(
      Object.entries(cookie?.sessions ?? {}).filter(([appId]) => !ending.some(([ended]) => ended === appId)),
    );
    if (!cookie || Object.keys(kept).length === 0) {
      c.header("Set-Cookie", setCookieHeader(consoleCookieName, "", 0, c.req.url));
    } else {
      const value = await encodeCookie(c.var.config.consoleSecret, { ...cookie, sessions: kept });
      c.header("Set-Cookie", setCookieHeader(consoleCookieName, value, secondsUntil(cookie.expiresAtMs), c.req.url));
    }
    return c.body(null, 204);
  });

/**
 * Adds `appId`'s new session to the browser's cookie (replacing an older one for that app) and
 * answers the apps it now holds. Shared with the sign-in link (console-sign-in.ts), which
 * redirects instead of answering JSON.
 */
export async function setSessionCookie(c: Context<EdgeEnv>, appId: string, sessionId: string): Promise<void> {
  const cookie = await cookieSessions(c);
  const expiresAtMs = Date.now() + consoleSessionTtlMs;
  const value = await encodeCookie(c.var.config.consoleSecret, {
    sessions: { ...(cookie?.sessions ?? {}), [appId]: sessionId },
    expiresAtMs,
  });
  c.header("Set-Cookie", setCookieHeader(consoleCookieName, value, secondsUntil(expiresAtMs), c.req.url));
}

async function answerWithSession(c: Context<EdgeEnv>, appId: string, sessionId: string, key: string) {
  await setSessionCookie(c, appId, sessionId);
  const apps = (await liveApps(c)).filter((app) => app.id !== appId);
  const signedIn = {
    id: appId,
    expiresAt: new Date(Date.now() + consoleSessionTtlMs).toISOString(),
    keyKind: kindOf(key),
  };
  return c.json({ apps: [signedIn, ...apps] } satisfies ConsoleSession);
}

/** The kind of a key that already passed `checkKey` for reading: read, or manage. */
function kindOf(key: string): "read" | "manage" {
  return key.startsWith("sl_manage_") ? "manage" : "read";
}

async function liveApps(c: Context<EdgeEnv>): Promise<ConsoleSession["apps"]> {
  const cookie = await cookieSessions(c);
  if (!cookie) return [];
  const ids = Object.values(cookie.sessions);
  const live: Record<string, SessionGrant> = ids.length > 0 ? await sessionStore(c).sessions(ids) : {};
  return Object.entries(cookie.sessions).flatMap(([appId, id]) => {
    const grant = live[id];
    return grant && grant.appId === appId
      ? [{ id: appId, expiresAt: new Date(grant.expiresAtMs).toISOString(), keyKind: kindOf(grant.key) }]
      : [];
  });
}

function secondsUntil(ms: number): number {
  return Math.max(0, Math.ceil((ms - Date.now()) / 1000));
}
