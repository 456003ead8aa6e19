// The console's sign-in at the edge: the cookie it sets (flags, expiry, signature), sign-out,
// sign-in links, the CSRF header, and that a session reads only its own app's data.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { consoleAppHeader } from "../../shared/console.ts";
import { errorOf, newApp, postBatch, sampleUpload } from "../testing/helpers.ts";
import { encodeCookie } from "./cookie.ts";

const origin = "https://edge.test";

function call(path: string, init: RequestInit & { cookie?: string; app?: string } = {}, base = origin) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  if (init.app) headers.set(consoleAppHeader, init.app);
  return exports.default.fetch(`${base}${path}`, { ...init, headers, redirect: "manual" });
}

function signIn(key: string, cookie?: string, base = origin) {
  return call(
    "/v1/console/session",
    { method: "POST", body: JSON.stringify({ key }), headers: { "content-type": "application/json" }, cookie },
    base,
  );
}

/** The `name=value` part of a response's Set-Cookie, to send back as a browser would. */
function cookieOf(response: Response): string {
  const header = response.headers.get("set-cookie") ?? "";
  return header.split(";")[0] ?? "";
}

async function uploadLine(ingestKey: string, text: string): Promise<void> {
  const upload = sampleUpload(1);
  upload.logs[0] = { ...(upload.logs[0] as (typeof upload.logs)[0]), text };
  expect((await postBatch(ingestKey, JSON.stringify(upload))).ok).toBe(true);
}

describe("console sign-in", () => {
  it("sets an HttpOnly, SameSite=Strict, Secure, expiring cookie that holds no key", async () => {
    const app = await newApp();
    const response = await signIn(app.read);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ apps: [{ id: app.appId }] });
    const header = response.headers.get("set-cookie") ?? "";
    expect(header).toMatch(/^stormlog_console=/);
    for (const flag of ["HttpOnly", "SameSite=Strict", "Secure", "Path=/", "Max-Age=43200"])
      expect(header).toContain(flag);
    expect(header).not.toContain(app.read);
    expect(header).not.toContain(app.read.split("_")[3]);
  });

  it("leaves Secure off only on a loopback host, where npm start serves plain http", async () => {
    const app = await newApp();
    const response = await signIn(app.read, undefined, "http://127.0.0.1:8787");
    expect(response.status).toBe(200);
    expect(response.headers.get("set-cookie")).not.toContain("Secure");
  });

  it("refuses an ingest key, saying the console needs the read or manage key", async () => {
    const app = await newApp();
    const response = await signIn(app.ingest);
    expect(response.status).toBe(403);
    expect((await errorOf(response)).message).toContain("the console signs in with the app's read or manage key");
    expect(response.headers.get("set-cookie")).toBeNull();
  });

  it("refuses a forged key and a body that is not one key", async () => {
    const app = await newApp();
    expect((await signIn(`${app.read.slice(0, -1)}x`)).status).toBe(401);
    const bad = await call("/v1/console/session", { method: "POST", body: "key=x" });
    expect(bad.status).toBe(400);
  });

  it("reads with the cookie and the app header; without the header (CSRF) or cross-origin it is refused", async () => {
    const app = await newApp();
    await uploadLine(app.ingest, "console can read this");
    const cookie = cookieOf(await signIn(app.read));
    const logs = await call("/v1/logs", { cookie, app: app.appId });
    expect(logs.status).toBe(200);
    expect(JSON.stringify(await logs.json())).toContain("console can read this");

    const noHeader = await call("/v1/logs", { cookie });
    expect(noHeader.status).toBe(403);
    expect((await errorOf(noHeader)).message).toContain(consoleAppHeader);
    const crossSite = await call("/v1/logs", { cookie, app: app.appId, headers: { origin: "https://evil.test" } });
    expect(crossSite.status).toBe(403);
    const fetchSite = await call("/v1/logs", { cookie, app: app.appId, headers: { "sec-fetch-site": "cross-site" } });
    expect(fetchSite.status).toBe(403);
  });

  it("refuses a tampered or expired cookie with 401", async () => {
    const app = await newApp();
    const cookie = cookieOf(await signIn(app.read));
    const tampered = `${cookie.slice(0, -1)}${cookie.endsWith("0") ? "1" : "0"}`;
    expect((await call("/v1/logs", { cookie: tampered, app: app.appId })).status).toBe(401);
    const [, value] = cookie.split("=");
    const payload = JSON.parse(atob((value ?? "").split(".")[0]?.replaceAll("-", "+").replaceAll("_", "/") ?? ""));
    const expired = await encodeCookie(env.CONSOLE_SECRET, { sessions: payload.s, expiresAtMs: Date.now() - 1000 });
    const answer = await call("/v1/logs", { cookie: `stormlog_console=${expired}`, app: app.appId });
    expect(answer.status).toBe(401);
    expect((await errorOf(answer)).message).toContain("expired");
  });

  it("signs out: the old cookie then gets 401 from the API", async () => {
    const app = await newApp();
    const cookie = cookieOf(await signIn(app.read));
    expect((await call("/v1/devices", { cookie, app: app.appId })).status).toBe(200);
    const out = await call("/v1/console/session", { method: "DELETE", cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await call("/v1/devices", { cookie, app: app.appId })).status).toBe(401);
    expect(await (await call("/v1/console/session", { cookie })).json()).toEqual({ apps: [] });
  });

  it("says which kind of key a session holds: a manage key's session may manage, a read key's may not", async () => {
    const app = await newApp();
    const managing = await signIn(app.manage);
    expect(await managing.json()).toMatchObject({ apps: [{ id: app.appId, keyKind: "manage" }] });
    const reading = await signIn(app.read);
    expect(await reading.json()).toMatchObject({ apps: [{ id: app.appId, keyKind: "read" }] });
    const listed = await call("/v1/console/session", { cookie: cookieOf(reading) });
    expect(await listed.json()).toMatchObject({ apps: [{ id: app.appId, keyKind: "read" }] });
  });

  it("holds several apps in one cookie, and one app's session never reads another app's data", async () => {
    const a = await newApp();
    const b = await newApp();
    await uploadLine(a.ingest, "only in app a");
    await uploadLine(b.ingest, "only in app b");
    const first = cookieOf(await signIn(a.read));
    expect(await (await call("/v1/logs", { cookie: first, app: b.appId })).status).toBe(401);
    const both = cookieOf(await signIn(b.read, first));
    const session = (await (await call("/v1/console/session", { cookie: both })).json()) as {
      apps: { id: string; keyKind: string }[];
    };
    expect(session.apps.map((app) => app.id).sort()).toEqual([a.appId, b.appId].sort());
    expect(session.apps.map((app) => app.keyKind)).toEqual(["read", "read"]);
    const readA = JSON.stringify(await (await call("/v1/logs", { cookie: both, app: a.appId })).json());
    const readB = JSON.stringify(await (await call("/v1/logs", { cookie: both, app: b.appId })).json());
    expect(readA).toContain("only in app a");
    expect(readA).not.toContain("only in app b");
    expect(readB).toContain("only in app b");
    expect(readB).not.toContain("only in app a");
    // Signing out of one app leaves the other signed in.
    const out = await call(`/v1/console/session?app=${a.appId}`, { method: "DELETE", cookie: both });
    const left = cookieOf(out);
    expect((await call("/v1/logs", { cookie: both, app: a.appId })).status).toBe(401);
    expect((await call("/v1/logs", { cookie: left, app: b.appId })).status).toBe(200);
  });
});

describe("sign-in links", () => {
  it("a link made with the read key signs in once, then redirects to the console; a second use does not", async () => {
    const app = await newApp();
    const made = await call("/v1/console/sign-in-links", {
      method: "POST",
      headers: { authorization: `Bearer ${app.read}` },
    });
    expect(made.status).toBe(201);
    const link = (await made.json()) as { path: string; expiresAt: string };
    expect(link.path).toMatch(/^\/console\/sign-in\?token=[0-9a-f]{64}$/);
    expect(link.path).not.toContain(app.read);
    const expiresInMs = Date.parse(link.expiresAt) - Date.now();
    expect(expiresInMs).toBeGreaterThan(4 * 60_000);
    expect(expiresInMs).toBeLessThanOrEqual(5 * 60_000);

    const opened = await call(link.path);
    expect(opened.status).toBe(303);
    expect(opened.headers.get("location")).toBe(`/?app=${app.appId}`);
    const cookie = cookieOf(opened);
    expect((await call("/v1/devices", { cookie, app: app.appId })).status).toBe(200);

    const again = await call(link.path);
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe("/?signIn=expired");
    expect(again.headers.get("set-cookie")).toBeNull();
  });

  it("an ingest key cannot make a link", async () => {
    const app = await newApp();
    const made = await call("/v1/console/sign-in-links", {
      method: "POST",
      headers: { authorization: `Bearer ${app.ingest}` },
    });
    expect(made.status).toBe(403);
  });
});
