/**
 * The console's session API (edge/routes/console-*.ts): what the edge answers to sign-in, the
 * session check and sign-in links, parsed by the console's data layer (console/api.ts) with these
 * same schemas. Also the names both sides agree on: the cookie, and the header a cookie request
 * names its app with (which is also what makes it a request a cross-site page cannot forge).
 */
import { z } from "zod";
import { keyKinds } from "./keys.ts";

/** The HttpOnly cookie that holds the browser's console sessions (one per app). */
export const consoleCookieName = "stormlog_console";
/** Names the app a cookie request reads; required on every cookie request (the CSRF check). */
export const consoleAppHeader = "X-Stormlog-App";
/** How long a console session lasts. */
export const consoleSessionTtlMs = 12 * 60 * 60 * 1000;
/** How long a one-time sign-in link can be used. */
export const signInLinkTtlMs = 5 * 60 * 1000;

const appIdSchema = z.string().regex(/^[a-z0-9]{16}$/, "an app id");

export const signInBodySchema = z.strictObject({ key: z.string().min(1).max(200) });

/**
 * The apps this browser has a live session for, until when each lasts, and the kind of key it
 * signed in with: a manage-key session also sees the app's settings and erasure.
 */
export const consoleSessionSchema = z.object({
  apps: z.array(z.object({ id: appIdSchema, expiresAt: z.string(), keyKind: z.enum(keyKinds).exclude(["ingest"]) })),
});
export type ConsoleSession = z.infer<typeof consoleSessionSchema>;

export const signInLinkSchema = z.object({
  /** Path and query of the link, on the edge's own origin. */
  path: z.string(),
  expiresAt: z.string(),
});
export type SignInLink = z.infer<typeof signInLinkSchema>;
