// How one probe or one failed request changes a region's entry in the health table: statuses from
// the region's own /v1/health, the latency average, load and backlog read defensively.
import { describe, expect, it } from "vitest";
import { applyProbe, initialState, markFailed } from "./status.ts";

const answer = (httpStatus: number, body: unknown, latencyMs = 10) =>
  ({ kind: "answer", httpStatus, body, latencyMs, atMs: 1000 }) as const;
const upBody = { region: "eu-west", status: "up", database: { kind: "pglite", ok: true }, inFlight: 3 };

describe("region health", () => {
  it("starts unknown, and a healthy answer makes it up with its latency and load", () => {
    const state = applyProbe(initialState("eu-west"), answer(200, upBody, 12));
    expect(state).toMatchObject({ status: "up", latencyMs: 12, inFlight: 3, backlog: null, lastSuccessAt: 1000 });
  });

  it("averages latency, weighting the newest probe by 0.3", () => {
    let state = applyProbe(initialState("eu-west"), answer(200, upBody, 10));
    state = applyProbe(state, answer(200, upBody, 110));
    expect(state.latencyMs).toBe(40);
  });

  it("takes degraded and draining from the region, and down from anything else", () => {
    const start = initialState("eu-west");
    expect(applyProbe(start, answer(200, { ...upBody, status: "degraded" })).status).toBe("degraded");
    expect(applyProbe(start, answer(503, { ...upBody, status: "draining" }))).toMatchObject({
      status: "draining",
      lastError: "draining",
    });
    expect(applyProbe(start, answer(503, { ...upBody, database: { ok: false } }))).toMatchObject({
      status: "down",
      lastError: "database down",
    });
    expect(applyProbe(start, answer(502, null))).toMatchObject({ status: "down", lastError: "health answered 502" });
    expect(applyProbe(start, answer(200, "<html>"))).toMatchObject({ status: "down" });
    expect(applyProbe(start, { kind: "failure", reason: "unreachable", atMs: 5 })).toMatchObject({
      status: "down",
      lastError: "unreachable",
      lastErrorAt: 5,
    });
  });

  it("sums the replication backlog over peers, ignoring what is not a count", () => {
    const peers = [{ backlog: { entries: 5 } }, { backlog: { entries: "many" } }, {}, { backlog: { entries: 7 } }];
    expect(applyProbe(initialState("eu-west"), answer(200, { ...upBody, peers })).backlog).toBe(12);
  });

  it("a failure a request saw marks the region down until a probe succeeds", () => {
    const down = markFailed(applyProbe(initialState("eu-west"), answer(200, upBody)), "answered 500", 2000);
    expect(down).toMatchObject({ status: "down", lastError: "answered 500", lastSuccessAt: 1000 });
    expect(applyProbe(down, answer(200, upBody)).status).toBe("up");
  });
});
