/**
 * One-time sign-in links, so a console can be opened signed in without the key in a URL:
 *
 *   POST /v1/console/sign-in-links   (read key, Bearer)   → {path, expiresAt}: a token valid 5
 *                                     minutes, for one use, standing for that read key
 *   GET  /console/sign-in?token=…    consumes it, sets the session cookie, redirects to the
 *                                     console (303 to `/`); a used or expired token redirects to
 *                                     `/?signIn=expired`, where the console says so
 *
 * Authorised by the read key itself: whoever may read the app's logs may hand out a link to read
 * them (`npm start` makes one for the demo app). No second admin secret is needed.
 */
import { Hono } from "hono";
import { consoleSessionTtlMs, signInLinkTtlMs } from "../../shared/console.ts";
import { requireKey } from "../auth.ts";
import { sessionStore } from "../console/session.ts";
import type { EdgeEnv } from "../context.ts";
import { setSessionCookie } from "./console-session.ts";

const tokenPattern = /^[0-9a-f]{64}$/;

export const signInLinks = new Hono<EdgeEnv>().post("/", requireKey("read"), async (c) => {
  const link = await sessionStore(c).create("link", c.var.appId, c.var.appKey, signInLinkTtlMs);
  return c.json(
    { path: `/console/sign-in?token=${link.id}`, expiresAt: new Date(link.expiresAtMs).toISOString() },
    201,
  );
});

export const signIn = new Hono<EdgeEnv>().get("/", async (c) => {
  const token = c.req.query("token") ?? "";
  const store = sessionStore(c);
  const grant = tokenPattern.test(token) ? await store.consumeLink(token) : null;
  // The page the browser lands on must not be cached with its token.
  c.header("Cache-Control", "no-store");
  if (!grant) return c.redirect("/?signIn=expired", 303);
  const session = await store.create("session", grant.appId, grant.key, consoleSessionTtlMs);
  await setSessionCookie(c, grant.appId, session.id);
  return c.redirect(`/?app=${grant.appId}`, 303);
});
