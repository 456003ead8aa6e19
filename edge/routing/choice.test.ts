// The order a request tries regions in, as a pure function of the health table, the breakers and
// the client's location: tiers first, then the score, then the configured order; the same state
// always gives the same order.
import { describe, expect, it } from "vitest";
import type { RoutedRegion } from "../../shared/regions.ts";
import { type HealthSnapshot, initialState, type RegionHealthState, type RegionStatus } from "../health/status.ts";
import { dublin, mumbai, virginia } from "../testing/helpers.ts";
import type { BreakerState } from "./breaker.ts";
import { attemptOrder, clientLocation, greatCircleKm, planRoute } from "./choice.ts";

const regions: RoutedRegion[] = [
  { name: "eu-west", url: "http://eu.test", location: dublin },
  { name: "us-east", url: "http://us.test", location: virginia },
  { name: "ap-south", url: "http://ap.test", location: mumbai },
];

function table(states: Record<string, Partial<RegionHealthState> & { status: RegionStatus }>): HealthSnapshot {
  return {
    probedAt: 1,
    regions: Object.entries(states).map(([name, state]) => ({ ...initialState(name), latencyMs: 5, ...state })),
  };
}

const allClosed = (_region: string): BreakerState => "closed";
const order = (snapshot: HealthSnapshot, client = null as typeof dublin | null, breaker = allClosed) =>
  attemptOrder(planRoute(regions, snapshot, breaker, client)).map((region) => region.name);

describe("choosing a region", () => {
  it("keeps the configured order when nothing tells the regions apart", () => {
    expect(order({ regions: [], probedAt: null })).toEqual(["eu-west", "us-east", "ap-south"]);
    const healthy = table({ "eu-west": { status: "up" }, "us-east": { status: "up" }, "ap-south": { status: "up" } });
    expect(order(healthy)).toEqual(["eu-west", "us-east", "ap-south"]);
  });

  it("puts up before degraded before down before draining, whatever the scores", () => {
    const snapshot = table({
      "eu-west": { status: "draining" },
      "us-east": { status: "down" },
      "ap-south": { status: "degraded", latencyMs: 400 },
    });
    expect(order(snapshot, dublin)).toEqual(["ap-south", "us-east", "eu-west"]);
    const oneUp = table({ "eu-west": { status: "degraded" }, "us-east": { status: "up", latencyMs: 300 } });
    expect(order(oneUp, dublin)[0]).toBe("us-east");
  });

  it("prefers lower latency and load, ignores latency differences under 10 ms", () => {
    const slowEu = table({ "eu-west": { status: "up", latencyMs: 80 }, "us-east": { status: "up", latencyMs: 20 } });
    expect(order(slowEu)[0]).toBe("us-east");
    const noise = table({ "eu-west": { status: "up", latencyMs: 14 }, "us-east": { status: "up", latencyMs: 11 } });
    expect(order(noise)[0]).toBe("eu-west");
    const busyEu = table({ "eu-west": { status: "up", inFlight: 40 }, "us-east": { status: "up", inFlight: 1 } });
    expect(order(busyEu)[0]).toBe("us-east");
    const behindEu = table({ "eu-west": { status: "up", backlog: 5000 }, "us-east": { status: "up", backlog: 0 } });
    expect(order(behindEu)[0]).toBe("us-east");
  });

  it("breaks ties by geography: the region nearest the client first", () => {
    const healthy = table({ "eu-west": { status: "up" }, "us-east": { status: "up" }, "ap-south": { status: "up" } });
    expect(order(healthy, dublin)).toEqual(["eu-west", "us-east", "ap-south"]);
    expect(order(healthy, virginia)).toEqual(["us-east", "eu-west", "ap-south"]);
    expect(order(healthy, mumbai)).toEqual(["ap-south", "eu-west", "us-east"]);
    // The same state, asked again, gives the same answer.
    expect(order(healthy, mumbai)).toEqual(order(healthy, mumbai));
  });

  it("divides the score by the weight", () => {
    const weighted = regions.map((region) => (region.name === "us-east" ? { ...region, weight: 100 } : region));
    const healthy = table({ "eu-west": { status: "up" }, "us-east": { status: "up" } });
    const plan = planRoute(weighted, healthy, allClosed, dublin);
    expect(attemptOrder(plan)[0]?.name).toBe("us-east");
  });

  it("leaves out regions whose breaker is open, and explains each region", () => {
    const healthy = table({ "eu-west": { status: "up" }, "us-east": { status: "up" } });
    const breaker = (name: string): BreakerState => (name === "eu-west" ? "open" : "closed");
    expect(order(healthy, dublin, breaker)).toEqual(["us-east", "ap-south"]);
    const plan = planRoute(regions, healthy, breaker, dublin);
    expect(plan[0]).toMatchObject({ status: "up", breaker: "open", order: null, distanceKm: 0 });
    expect(plan[1]).toMatchObject({ status: "up", breaker: "closed", order: 1 });
    expect(plan[1]?.distanceKm).toBeGreaterThan(5000);
  });

  it("reads the client's location from request.cf and refuses nonsense", () => {
    expect(clientLocation({ latitude: "53.35", longitude: "-6.26" })).toEqual(dublin);
    expect(clientLocation({ latitude: 10, longitude: 20 })).toEqual({ lat: 10, lon: 20 });
    expect(clientLocation(undefined)).toBeNull();
    expect(clientLocation({ latitude: "north" })).toBeNull();
    expect(clientLocation({ latitude: "95", longitude: "0" })).toBeNull();
    expect(Math.round(greatCircleKm(dublin, virginia))).toBeGreaterThan(5400);
    expect(Math.round(greatCircleKm(dublin, virginia))).toBeLessThan(5700);
  });
});
