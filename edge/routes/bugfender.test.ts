// The Bugfender-compatible endpoints in workerd against the stand-in regions: CORS preflight,
// X-App-Token, signed session ids that carry the device, content-derived batch ids, issues.
import { describe, expect, it } from "vitest";
import { parseBatch } from "../../shared/batch.ts";
import { occurrenceOf } from "../../shared/issues.ts";
import { limits } from "../../shared/limits.ts";
import { callWith, errorOf, newApp, received, regionsOf } from "../testing/helpers.ts";

function bf(path: string, key: string | null, body: unknown, headers: Record<string, string> = {}) {
  return callWith({ regions: [regionsOf.eu] }, `/bugfender${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json;charset=UTF-8",
      origin: "https://shop.example",
      ...(key === null ? {} : { "x-app-token": key }),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const sessionRequest = {
  device: {
    udid: "udid-1",
    name: "Chrome",
    device_type: "Chrome",
    language: "en-GB",
    os: "Linux",
    os_version: "x86_64",
  },
  session_uid: "session-uid-1",
  app_version: { app: { key: "k" }, version: "3.1.0", build: "310" },
};

async function session(key: string): Promise<string> {
  const response = await bf("/session", key, sessionRequest);
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

const logs = [
  {
    x: "2026-06-01T12:00:00.000Z",
    at: 1780315200000,
    ll: 3,
    tg: "",
    t: "tracing",
    m: "",
    f: "",
    l: 0,
    u: "https://shop.example/",
  },
  {
    x: "2026-06-01T12:00:00.001Z",
    at: 1780315200001,
    ll: 1,
    tg: "cart",
    t: "slow",
    m: "add",
    f: "cart.js",
    l: 42,
    u: "",
  },
];

describe("Bugfender-compatible ingest", () => {
  it("answers the CORS preflight for any origin, with the SDK's headers", async () => {
    const response = await callWith({ regions: [regionsOf.eu] }, "/bugfender/log/batch", {
      method: "OPTIONS",
      headers: {
        origin: "https://shop.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-app-token,x-user-agent",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("x-app-token");
  });

  it("turns a session and a log batch into one stored batch with the session's device", async () => {
    const keys = await newApp();
    const status = await bf("/app/device-status", keys.ingest, {
      app_token: keys.ingest,
      device: sessionRequest.device,
    });
    expect(await status.json()).toEqual({ logger_enabled: true });
    expect(status.headers.get("access-control-allow-origin")).toBe("*");

    const id = await session(keys.ingest);
    const response = await bf("/log/batch", keys.ingest, { session_id: id, logs });
    expect(response.status).toBe(200);
    expect((await bf("/log/batch", keys.ingest, { session_id: id, logs })).status).toBe(200);

    const posts = (await received(keys.appId)).filter((call) => call.method === "POST");
    expect(posts).toHaveLength(2);
    const batch = parseBatch(JSON.parse(posts[0]?.body ?? ""));
    expect(JSON.parse(posts[1]?.body ?? "").batchId).toBe(batch.batchId);
    expect(batch.device).toEqual({
      id: "udid-1",
      name: "Chrome",
      model: "Chrome",
      os: "Linux",
      osVersion: "x86_64",
      appVersion: "3.1.0",
      appBuild: "310",
      locale: "en-GB",
    });
    expect(batch.logs).toEqual([
      {
        ts: 1780315200000,
        level: "trace",
        text: "tracing",
        attrs: { "bugfender.session": "session-uid-1", url: "https://shop.example/" },
      },
      {
        ts: 1780315200001,
        level: "warn",
        tag: "cart",
        method: "add",
        file: "cart.js",
        line: 42,
        text: "slow",
        attrs: { "bugfender.session": "session-uid-1" },
      },
    ]);
  });

  it("mints no session for a device no region can store, and cuts long fields between characters", async () => {
    const keys = await newApp();
    const long = await bf("/session", keys.ingest, {
      device: { udid: `${"u".repeat(127)}😀`, name: `${"n".repeat(255)}😀` },
    });
    expect(long.status).toBe(200);
    const line = await bf("/log/batch", keys.ingest, {
      session_id: ((await long.json()) as { id: string }).id,
      logs: [{ at: 1780315200000, t: "x" }],
    });
    expect(await line.json()).toEqual({ accepted: 1, rejected: 0 });
    const [stored] = (await received(keys.appId)).filter((entry) => entry.method === "POST");
    expect(parseBatch(JSON.parse(stored?.body ?? "")).device).toMatchObject({
      id: "u".repeat(127),
      name: "n".repeat(255),
    });
    for (const device of [{ udid: "udid\u0000" }, { udid: "udid-2", device_type: "\udc00Chrome" }]) {
      const response = await bf("/session", keys.ingest, { device });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).message).toMatch(/^body: device\.(id|model): contains/);
    }
  });

  it("answers 413 past the lines or the batches one request may make, and splits lines by span", async () => {
    const keys = await newApp();
    const id = await session(keys.ingest);
    const line = (at: number) => ({ at, ll: 4, t: `at ${at}` });
    const start = 1780315200000;
    const tooMany = await bf("/log/batch", keys.ingest, {
      session_id: id,
      logs: Array(limits.adapterLinesMax + 1).fill(line(start)),
    });
    expect(tooMany.status).toBe(413);
    const spread = Array.from({ length: limits.adapterBatchesMax + 1 }, (_, i) =>
      line(start + i * 2 * limits.batchSpanMsMax),
    );
    const fanOut = await bf("/log/batch", keys.ingest, { session_id: id, logs: spread });
    expect(fanOut.status).toBe(413);
    expect((await received(keys.appId)).filter((entry) => entry.method === "POST")).toEqual([]);

    const twoDays = await bf("/log/batch", keys.ingest, {
      session_id: id,
      logs: [line(start), line(start + limits.batchSpanMsMax + 1), line(start + 1)],
    });
    expect(twoDays.status).toBe(200);
    const posted = (await received(keys.appId)).filter((entry) => entry.method === "POST");
    expect(posted.map((entry) => parseBatch(JSON.parse(entry.body ?? "")).logs.map((l) => l.ts - start))).toEqual([
      [0, 1],
      [limits.batchSpanMsMax + 1],
    ]);
  });

  it("refuses a forged session, another app's session, and a missing or wrong X-App-Token", async () => {
    const keys = await newApp();
    const other = await newApp();
    const id = await session(keys.ingest);
    const forged = `${id.slice(0, -1)}${id.endsWith("0") ? "1" : "0"}`;
    for (const sessionId of [forged, await session(other.ingest), 17]) {
      const response = await bf("/log/batch", keys.ingest, { session_id: sessionId, logs });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).message).toMatch(/^session_id: /);
    }
    expect((await bf("/session", null, sessionRequest)).status).toBe(401);
    expect((await bf("/session", keys.read, sessionRequest)).status).toBe(403);
    expect((await bf("/session", keys.ingest, { device: {} })).status).toBe(400);
    expect((await received(keys.appId)).filter((call) => call.method === "POST")).toEqual([]);
  });

  it("stores an issue as an error line and a crash as a fatal one, once per issue id", async () => {
    const keys = await newApp();
    const id = await session(keys.ingest);
    const issue = {
      uid: "issue-1",
      title: "Checkout",
      text: "button dead",
      app: { key: keys.ingest },
      type: "issue",
      session_id: id,
    };
    expect(await (await bf("/issue", keys.ingest, issue)).json()).toEqual({ id: "issue-1" });
    // A resent issue arrives with another receive time: the region's conflict means "already stored".
    expect((await bf("/issue", keys.ingest, issue)).status).toBe(200);
    expect((await bf("/issue", keys.ingest, { ...issue, uid: "crash-1", type: "crash" })).status).toBe(200);

    const posts = (await received(keys.appId)).filter((call) => call.method === "POST");
    const lines = posts.map((call) => parseBatch(JSON.parse(call.body)).logs[0]);
    expect(lines[0]).toMatchObject({
      level: "error",
      tag: "stormlog.issue",
      text: "Checkout",
      attrs: { "stormlog.body": "button dead", issue_id: "issue-1", issue_type: "issue", title: "Checkout" },
    });
    expect(lines.at(-1)).toMatchObject({ level: "fatal", tag: "stormlog.crash", attrs: { issue_type: "crash" } });
    // Each maps onto the issue convention, so the regions group them (shared/issues.ts).
    expect([lines[0], lines.at(-1)].map((line) => line && occurrenceOf(line)?.type)).toEqual(["issue", "crash"]);
    expect((await bf("/issue", keys.ingest, { ...issue, uid: "fb-1", type: "user-feedback" })).status).toBe(200);
    const feedback = (await received(keys.appId)).filter((call) => call.method === "POST").at(-1);
    expect(occurrenceOf(parseBatch(JSON.parse(feedback?.body ?? "{}")).logs[0] as never)).toMatchObject({
      type: "feedback",
      title: "Checkout",
      body: "button dead",
    });
  });

  it("answers device-status from the device's remote settings, drops lines below its minimum level, reads X-App-Session", async () => {
    const keys = await newApp();
    const put = (path: string, body: unknown) =>
      callWith({ regions: [regionsOf.eu] }, path, {
        method: "PUT",
        headers: { authorization: `Bearer ${keys.manage}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await put("/v1/devices/udid-1/settings", { enabled: false, minLevel: "trace" })).status).toBe(200);
    expect((await put("/v1/settings?appVersion=3.1.0", { enabled: true, minLevel: "warn" })).status).toBe(200);
    const status = async (device: unknown) =>
      (await bf("/app/device-status", keys.ingest, { app_token: keys.ingest, device })).json();
    expect(await status(sessionRequest.device)).toEqual({ logger_enabled: false });
    expect(await status({ udid: "udid-2", version: "3.1.0" })).toEqual({ logger_enabled: true });

    // udid-2 on 3.1.0 uploads from warn: the trace line is acknowledged and not stored.
    const other = await bf("/session", keys.ingest, {
      ...sessionRequest,
      device: { ...sessionRequest.device, udid: "udid-2" },
    });
    const { id } = (await other.json()) as { id: string };
    const response = await bf("/log/batch", keys.ingest, { logs }, { "x-app-session": id });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ accepted: 1 });
    const posts = (await received(keys.appId)).filter((call) => call.pathAndQuery.endsWith("/batches"));
    expect(parseBatch(JSON.parse(posts[0]?.body ?? "")).logs.map((line) => line.text)).toEqual(["slow"]);
  });
});
