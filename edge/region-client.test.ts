// Failover between regions, as a client sees it: an upload that a first region cannot take
// (refused connection, 500, no answer in time, a rejected signature) lands on the next one in
// the same request, with the same bytes; when none answers and there is no spool, the client
// gets 503 + Retry-After. (Each test uses its own REGIONS list, so breakers and health start fresh.)
import { describe, expect, it } from "vitest";
import { keyHash } from "../shared/keys.ts";
import type { RoutedRegion } from "../shared/regions.ts";
import { app, createEdgeApp } from "./app.ts";
import { attemptTimeoutMs, createRegionClient } from "./region-client.ts";
import { testEdgeSecret } from "./testing/fixtures.ts";
import {
  callWith,
  errorOf,
  newApp,
  received,
  regionsOf,
  revokeAtStubs,
  sampleUpload,
  setMode,
  spawnRegion,
  unrevokedServices,
  uploadWith,
} from "./testing/helpers.ts";

/** The app with nothing revoked, so these tests see the forwarding alone. */
const appWithoutRevocations = createEdgeApp(unrevokedServices());

const noSpool = { SPOOL: undefined, SPOOL_BLOBS: undefined };

async function upload(
  regions: readonly RoutedRegion[],
  options: { app?: typeof appWithoutRevocations; env?: object } = {},
) {
  const keys = await newApp();
  const batch = sampleUpload(2);
  const response = await uploadWith(options.app ?? app, keys.ingest, batch, { regions, env: options.env });
  return { response, calls: await received(batch.batchId) };
}

describe("forwarding to regions", () => {
  it("moves on when the first region refuses connections", async () => {
    const { response, calls } = await upload([regionsOf.refused, regionsOf.eu]);
    expect(response.status).toBe(202);
    expect(response.headers.get("X-Stormlog-Region")).toBe("eu-west");
    expect(await response.json()).toMatchObject({ region: "eu-west", duplicate: false });
    expect(calls.map((call) => call.stub)).toEqual(["eu-west"]);
  });

  it("moves on when the first region answers 500, re-sending the same bytes signed anew", async () => {
    const { response, calls } = await upload([regionsOf.broken, regionsOf.us], { app: appWithoutRevocations });
    expect(response.status).toBe(202);
    expect(response.headers.get("X-Stormlog-Region")).toBe("us-east");
    expect(calls.map((call) => [call.stub, call.signature])).toEqual([
      ["broken", "ok"],
      ["us-east", "ok"],
    ]);
    expect(calls[0]?.body).toBe(calls[1]?.body);
  });

  it("moves on when the first region does not answer in time", async () => {
    const startedMs = performance.now();
    const { response, calls } = await upload([regionsOf.silent, regionsOf.eu], { app: appWithoutRevocations });
    expect(response.status).toBe(202);
    expect(response.headers.get("X-Stormlog-Region")).toBe("eu-west");
    expect(calls.map((call) => call.stub)).toEqual(["silent", "eu-west"]);
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(attemptTimeoutMs - 50);
  });

  it("answers 503 with Retry-After when no region answers and no spool is configured", async () => {
    const { response, calls } = await upload([regionsOf.refused, regionsOf.broken, regionsOf.silent], {
      app: appWithoutRevocations,
      env: noSpool,
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("5");
    expect(response.headers.get("X-Stormlog-Region")).toBeNull();
    expect(await errorOf(response)).toMatchObject({
      code: "REGION_UNAVAILABLE",
      message:
        "no region answered (refused: unreachable; broken: answered 500; silent: timeout); " +
        "not spooled: no spool is configured",
    });
    // Only the broken and the silent region saw it; neither stored it.
    expect(calls.map((call) => call.stub)).toEqual(["broken", "silent"]);
  });

  it("skips regions that reject the edge's signature (an EDGE_SECRET mismatch)", async () => {
    const { response, calls } = await upload([regionsOf.eu, regionsOf.us], {
      app: appWithoutRevocations,
      env: { EDGE_SECRET: "not-the-regions-secret-0123456789" },
    });
    expect(response.status).toBe(503);
    expect((await errorOf(response)).message).toBe("no region answered (eu-west: answered 401; us-east: answered 401)");
    expect(calls.map((call) => [call.stub, call.signature])).toEqual([
      ["eu-west", "bad_signature"],
      ["us-east", "bad_signature"],
    ]);
  });

  it("passes a region's refusal of the client's read key on as 401, and asks no other region", async () => {
    const keys = await newApp();
    // Revoked where the regions keep keys; this edge's own list (empty) has not heard of it.
    await revokeAtStubs(await keyHash(keys.read));
    // Which of the two goes first is the health table's call (their probe latencies): either way,
    // the one that refused is the only one asked.
    const answeredBy: (string | null)[] = [];
    for (const path of ["/v1/logs", "/v1/devices"]) {
      const response = await callWith(
        { regions: [regionsOf.eu, regionsOf.us] },
        path,
        {
          headers: { authorization: `Bearer ${keys.read}` },
        },
        appWithoutRevocations,
      );
      expect(response.status, path).toBe(401);
      const region = response.headers.get("X-Stormlog-Region");
      expect(["eu-west", "us-east"]).toContain(region);
      answeredBy.push(region);
      expect(await errorOf(response)).toMatchObject({
        code: "UNAUTHORIZED",
        message: `region ${region}: app key has been revoked`,
      });
    }
    const calls = await received(keys.appId);
    expect(calls.map((call) => [call.stub, call.signature, call.appKey])).toEqual(
      answeredBy.map((region) => [region, "ok", keys.read]),
    );
  });

  it("tells a refused signature from a refused key: a read signed with the wrong secret goes on to 503", async () => {
    const keys = await newApp();
    const response = await callWith(
      { regions: [regionsOf.eu, regionsOf.us], env: { EDGE_SECRET: "not-the-regions-secret-0123456789" } },
      "/v1/logs",
      { headers: { authorization: `Bearer ${keys.read}` } },
      appWithoutRevocations,
    );
    expect(response.status).toBe(503);
    expect((await received(keys.appId)).map((call) => [call.stub, call.signature])).toEqual([
      ["eu-west", "bad_signature"],
      ["us-east", "bad_signature"],
    ]);
  });

  it("says by type why each region was skipped", async () => {
    const failing = await spawnRegion("failing");
    const draining = await spawnRegion("draining");
    await setMode(failing, "failing");
    await setMode(draining, "draining");
    // Long enough that a stand-in answers in time on a busy machine (the suite runs two files at once).
    const client = createRegionClient({ edgeSecret: testEdgeSecret, timeoutMs: 1500 });
    const call = { method: "GET", pathAndQuery: "/internal/v1/keys/revoked", requestId: "causes" } as const;
    const answer = await client.forward(
      [regionsOf.refused, regionsOf.silent, regionsOf.broken, draining, failing],
      call,
    );
    expect(answer.ok).toBe(false);
    const skipped = answer.ok ? [] : answer.error.skipped;
    expect(skipped.map(({ cause, reason }) => ({ cause, reason }))).toEqual([
      { cause: "unreachable", reason: "unreachable" },
      { cause: "timeout", reason: "timeout" },
      // A bare 500 is not the region's own error: something in front of it failed.
      { cause: "unavailable", reason: "answered 500" },
      { cause: "unavailable", reason: "answered 503" },
      { cause: "internal_error", reason: "answered 500" },
    ]);
    const wrongSecret = createRegionClient({ edgeSecret: "not-the-regions-secret-0123456789" });
    const rejected = await wrongSecret.forward([regionsOf.eu], call);
    expect(rejected.ok ? [] : rejected.error.skipped).toEqual([
      { region: "eu-west", cause: "signature_rejected", reason: "answered 401" },
    ]);
  });
});
