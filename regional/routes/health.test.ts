// Probes, request ids and the error path: what operators and callers see when the region drains,
// when its database goes away, and when a route fails in a way nobody planned for.
import { describe, expect, it } from "vitest";
import { adminPaths, internalPaths } from "../../shared/regions.ts";
import { adminRequest, drivers, readKeyFor, signedRequest, useTestRegion } from "../testing/harness.ts";
import type { Health } from "./health.ts";

describe.each(drivers)("health and errors on %s", (kind) => {
  const t = useTestRegion(kind);

  it("reports up, with its database, and answers the probes", async () => {
    const response = await t.region.app.request("/v1/health");
    expect(response.status).toBe(200);
    const expected: Health = {
      region: "eu-west",
      status: "up",
      database: { kind, ok: true },
      inFlight: 0,
      ackQuorum: 1,
      peers: [],
    };
    expect(await response.json()).toEqual(expected);
    expect((await t.region.app.request("/healthz")).status).toBe(200);
    expect((await t.region.app.request("/readyz")).status).toBe(200);
  });

  it("carries the caller's request id, or makes one", async () => {
    const given = await t.region.app.request("/v1/health", { headers: { "x-request-id": "req-from-edge-42" } });
    expect(given.headers.get("x-request-id")).toBe("req-from-edge-42");
    const made = await t.region.app.request("/v1/health");
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers unknown routes with a 404 error body", async () => {
    const response = await t.region.app.request("/v2/nothing", { headers: { "x-request-id": "req-404" } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: "NOT_FOUND", message: "no route for GET /v2/nothing", requestId: "req-404" },
    });
  });

  it("while draining: health says so, readiness fails, internal calls get 503 to fail over", async () => {
    t.region.lifecycle.draining = true;
    try {
      const health = await t.region.app.request("/v1/health");
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: "draining" });
      expect((await t.region.app.request("/readyz")).status).toBe(503);
      expect((await t.region.app.request("/healthz")).status).toBe(200);
      for (const call of [
        await signedRequest(t.region.app, "GET", internalPaths.revokedKeys),
        await adminRequest(t.region, "GET", adminPaths.apps),
      ]) {
        expect(call.status).toBe(503);
        expect(call.headers.get("retry-after")).toBe("1");
        expect(call.headers.get("connection")).toBe("close");
        expect(await call.json()).toMatchObject({ error: { code: "REGION_UNAVAILABLE" } });
      }
    } finally {
      t.region.lifecycle.draining = false;
    }
  });

  it("when the database is gone: 500 INTERNAL for calls, 503 for health, and the process goes on", async () => {
    const appKey = await readKeyFor(t.region, "0123456789abcdef");
    await t.region.database.close();
    const call = await signedRequest(t.region.app, "GET", internalPaths.logs("0123456789abcdef"), {
      headers: { "x-request-id": "req-db-down" },
      appKey,
    });
    expect(call.status).toBe(500);
    expect(await call.json()).toEqual({
      error: { code: "INTERNAL", message: "internal error", requestId: "req-db-down" },
    });
    expect(t.region.lifecycle.inFlight).toBe(0);
    const health = await t.region.app.request("/v1/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "up", database: { kind, ok: false } });
    expect((await t.region.app.request("/readyz")).status).toBe(503);
    expect((await t.region.app.request("/healthz")).status).toBe(200);
  });
});
