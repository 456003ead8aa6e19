// The app around the routes: health, request ids, the request log line, 404s, bindings that do
// not validate (BAD_ENVIRONMENT) and unexpected errors (INTERNAL, nothing leaked).
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createEdgeApp } from "./app.ts";
import { callWith, errorOf, regionsOf } from "./testing/helpers.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("edge app", () => {
  it("answers health with each configured region's state, score and order, no key needed", async () => {
    const response = await exports.default.fetch("https://edge.test/v1/health");
    expect(response.status).toBe(200);
    const health = (await response.json()) as { status: string; order: string[]; regions: object[] };
    expect(health).toMatchObject({ status: "ok", order: ["eu-west", "us-east"], probeIntervalMs: 5000 });
    expect(health.regions).toEqual([
      expect.objectContaining({ ...regionsOf.eu, weight: 1, order: 1, breaker: "closed" }),
      expect.objectContaining({ ...regionsOf.us, weight: 1, order: 2, breaker: "closed" }),
    ]);
  });

  it("reuses a sane incoming X-Request-Id and replaces one that is not", async () => {
    const kept = await exports.default.fetch("https://edge.test/v1/health", { headers: { "x-request-id": "sdk-42" } });
    expect(kept.headers.get("X-Request-Id")).toBe("sdk-42");
    const replaced = await exports.default.fetch("https://edge.test/v1/health", {
      headers: { "x-request-id": "two words; and more" },
    });
    expect(replaced.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("logs a failed request as one JSON line with its error code (successes only by sample, request-log.ts)", async () => {
    const log = vi.spyOn(console, "log");
    await exports.default.fetch("https://edge.test/v1/batches", {
      method: "POST",
      headers: { "x-request-id": "req-log" },
    });
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: "request",
      outcome: "rejected",
      method: "POST",
      path: "/v1/batches",
      status: 401,
      requestId: "req-log",
      error: "UNAUTHORIZED",
    });
    expect(typeof lines[0].ms).toBe("number");
  });

  it("answers unknown routes with a 404 error body", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["GET", "/v1/batches"],
    ] as const) {
      const response = await exports.default.fetch(`https://edge.test${path}`, { method });
      expect(response.status).toBe(404);
      const error = await errorOf(response);
      expect(error).toMatchObject({ code: "NOT_FOUND", message: `no route for ${method} ${path}` });
      expect(error.requestId).toBe(response.headers.get("X-Request-Id"));
    }
  });

  it("answers 500 BAD_ENVIRONMENT naming a binding that does not validate", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ REGIONS: "eu-west=http://x" }, "binding REGIONS: not valid JSON"],
      [{ REGIONS: "[]" }, "binding REGIONS: "],
      [{ REGIONS: JSON.stringify([{ name: "EU", url: "ftp://x" }]) }, "binding REGIONS: [0].name: "],
      [{ REGIONS: JSON.stringify([{ name: "eu", url: "http://x" }]) }, "binding REGIONS: [0].location: "],
      [
        { REGIONS: JSON.stringify([{ ...regionsOf.eu, location: { lat: 91, lon: 0 } }]) },
        "binding REGIONS: [0].location.lat: ",
      ],
      [{ HEALTH_PROBE_INTERVAL_MS: "often" }, "binding HEALTH_PROBE_INTERVAL_MS: "],
      [{ REGIONS: JSON.stringify([regionsOf.eu, regionsOf.eu]) }, "binding REGIONS: region names must be unique"],
      [{ KEY_SECRET: undefined }, "binding KEY_SECRET: missing"],
      [{ EDGE_SECRET: "short" }, "binding EDGE_SECRET: value: expected a secret of at least 16 characters"],
      [{ EDGE_SECRET: undefined }, "binding EDGE_SECRET: missing"],
      [{ SPOOL_SECRET: undefined }, "binding SPOOL_SECRET: missing"],
      [{ CONSOLE_SECRET: undefined }, "binding CONSOLE_SECRET: missing"],
    ];
    for (const [env, message] of cases) {
      const response = await callWith({ env }, "/v1/health", {});
      expect(response.status).toBe(500);
      expect(response.headers.get("X-Request-Id")).toBeTruthy();
      const error = await errorOf(response);
      expect(error.code).toBe("BAD_ENVIRONMENT");
      expect(error.message.startsWith(message), error.message).toBe(true);
    }
  });

  it("answers 500 INTERNAL for a bug, without leaking it", async () => {
    const broken = createEdgeApp(() => {
      throw new Error("database password is hunter2");
    });
    const response = await callWith({}, "/v1/health", {}, broken);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text)).toMatchObject({ error: { code: "INTERNAL", message: "internal error" } });
  });
});
