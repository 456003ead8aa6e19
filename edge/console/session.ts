/**
 * What the console routes and `requireKey` share about a console session: reading the signed
 * cookie, the checks a cookie request must pass, and the ConsoleSessions object (sessions.ts).
 *
 * A cookie is sent by the browser on its own, so a cookie request must also prove it comes from
 * the console's own page: it carries `X-Stormlog-App` (a custom header, which a cross-site page can
 * only send after a CORS preflight that the edge never grants with credentials), and when the
 * browser says where it comes from (`Origin`, `Sec-Fetch-Site`) that must be this origin.
 * SameSite=Strict already keeps the cookie off cross-site requests; these checks do not rely on it.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { consoleAppHeader, consoleCookieName } from "../../shared/console.ts";
import { ApiError } from "../../shared/errors.ts";
import type { EdgeEnv } from "../context.ts";
import { type CookieSessions, decodeCookie } from "./cookie.ts";
import type { ConsoleSessions } from "./sessions.ts";

/** The one ConsoleSessions object of this deployment. */
export function sessionStore(c: Context<EdgeEnv>): DurableObjectStub<ConsoleSessions> {
  const namespace = c.var.bindings.consoleSessions;
  if (!namespace) throw new ApiError("BAD_ENVIRONMENT", "binding CONSOLE_SESSIONS: missing (the console needs it)");
  return namespace.get(namespace.idFromName("console-sessions"));
}

/** The sessions the request's cookie names, or null with no cookie or one that does not check out. */
export async function cookieSessions(c: Context<EdgeEnv>): Promise<CookieSessions | null> {
  const text = getCookie(c, consoleCookieName);
  if (!text) return null;
  return decodeCookie(c.var.config.consoleSecret, text, Date.now());
}

export function hasConsoleCookie(c: Context<EdgeEnv>): boolean {
  return getCookie(c, consoleCookieName) !== undefined;
}

/** Refuses a request that says it comes from another origin (a cross-site form or script). */
export function requireSameOrigin(c: Context<EdgeEnv>): void {
  const origin = c.req.header("Origin");
  if (origin !== undefined && origin !== "null" && origin !== new URL(c.req.url).origin) {
    throw new ApiError("FORBIDDEN", "console requests must come from the console's own origin");
  }
  const site = c.req.header("Sec-Fetch-Site");
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new ApiError("FORBIDDEN", "console requests must come from the console's own origin");
  }
}

/**
 * The read key behind a cookie request, for `requireKey`: the app comes from `X-Stormlog-App`
 * (required: it is also the CSRF check), the key from that app's session. 401 once the session
 * has ended (signed out, expired) or the cookie does not check out.
 */
export async function consoleReadKey(c: Context<EdgeEnv>): Promise<{ appId: string; key: string }> {
  requireSameOrigin(c);
  const appId = c.req.header(consoleAppHeader);
  if (!appId) {
    throw new ApiError("FORBIDDEN", `a console request must name its app in ${consoleAppHeader} (the CSRF check)`);
  }
  const cookie = await cookieSessions(c);
  if (!cookie) throw new ApiError("UNAUTHORIZED", "the console session has expired or is not valid: sign in again");
  const sessionId = cookie.sessions[appId];
  if (!sessionId) throw new ApiError("UNAUTHORIZED", `no console session for app ${appId} in this browser`);
  const grant = (await sessionStore(c).sessions([sessionId]))[sessionId];
  if (!grant || grant.appId !== appId) {
    throw new ApiError("UNAUTHORIZED", `the console session for app ${appId} has ended: sign in again`);
  }
  return { appId, key: grant.key };
}
