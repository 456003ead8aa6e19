/**
 * The console cookie: which session each app has in this browser, signed with CONSOLE_SECRET
 * (HMAC-SHA256) so a browser cannot name a session it was not given, and expiring on its own even
 * if the browser keeps it. The sessions themselves (and the read keys they stand for) live in the
 * ConsoleSessions object (sessions.ts); the cookie carries only their random ids.
 *
 *   stormlog_console=<base64url(JSON {s: {appId: sessionId}, exp})>.<hmac hex>
 */
import { fromBase64Url, timingSafeEqual, toBase64Url, utf8 } from "../../shared/encoding.ts";
import { hmacHex } from "../../shared/hmac.ts";

export type CookieSessions = { sessions: Record<string, string>; expiresAtMs: number };

export async function encodeCookie(secret: string, value: CookieSessions): Promise<string> {
  const payload = toBase64Url(utf8(JSON.stringify({ s: value.sessions, exp: value.expiresAtMs })));
  return `${payload}.${await hmacHex(secret, `console-cookie.${payload}`)}`;
}

/** The sessions a cookie names, or null when it is forged, tampered with, malformed or expired. */
export async function decodeCookie(secret: string, text: string, nowMs: number): Promise<CookieSessions | null> {
  const dot = text.lastIndexOf(".");
  if (dot <= 0) return null;
  const payload = text.slice(0, dot);
  if (!timingSafeEqual(await hmacHex(secret, `console-cookie.${payload}`), text.slice(dot + 1))) return null;
  const bytes = fromBase64Url(payload);
  if (!bytes) return null;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { s?: unknown; exp?: unknown };
    if (typeof parsed.exp !== "number" || parsed.exp <= nowMs) return null;
    if (typeof parsed.s !== "object" || parsed.s === null) return null;
    const sessions: Record<string, string> = {};
    for (const [appId, id] of Object.entries(parsed.s)) if (typeof id === "string") sessions[appId] = id;
    return { sessions, expiresAtMs: parsed.exp };
  } catch {
    return null;
  }
}

/** Secure everywhere but on a loopback host, where `npm start` serves plain http. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

/** The Set-Cookie value: HttpOnly, SameSite=Strict, Path=/, and Secure off only on loopback. */
export function setCookieHeader(name: string, value: string, maxAgeSeconds: number, requestUrl: string): string {
  const secure = isLoopback(requestUrl) ? "" : "; Secure";
  return `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; SameSite=Strict${secure}`;
}
