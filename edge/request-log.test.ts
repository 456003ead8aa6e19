// The request log and count: one Analytics Engine data point per request saying what became of it
// (routed, failed over, spooled, rejected), a log line for every failure and routing decision, and
// only a sample of plain successes (the runtime records every invocation already).
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RoutedRegion } from "../shared/regions.ts";
import { createEdgeApp } from "./app.ts";
import {
  newApp,
  recordingQueue,
  regionsOf,
  sampleUpload,
  setMode,
  spawnRegion,
  unrevokedServices,
  uploadWith,
} from "./testing/helpers.ts";

type Point = { indexes: string[]; blobs: string[]; doubles: number[] };

function fakeAnalytics() {
  const points: Point[] = [];
  return { points, binding: { writeDataPoint: (point: Point) => points.push(point) } };
}

function setup() {
  // A fresh app per test: the sampling counter is the app's.
  const app = createEdgeApp(unrevokedServices({ healthCacheMs: 0 }));
  const analytics = fakeAnalytics();
  const logged: Record<string, unknown>[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.includes('"event":"request"')) logged.push(JSON.parse(line));
  });
  async function upload(regions: readonly RoutedRegion[], env: object = {}, key?: string) {
    const keys = await newApp();
    const bindings = { regions, env: { EDGE_ANALYTICS: analytics.binding, LOG_SAMPLE_EVERY: "3", ...env } };
    return uploadWith(app, key ?? keys.ingest, sampleUpload(2), bindings);
  }
  return { upload, points: analytics.points, logged };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the request count", () => {
  it("counts a routed upload once, with its region and status", async () => {
    const { upload, points } = setup();
    expect((await upload([regionsOf.eu])).status).toBe(202);
    expect(points).toEqual([
      {
        indexes: ["routed"],
        blobs: ["routed", "POST", "/v1/batches", "eu-west", "", ""],
        doubles: [202, expect.any(Number), 0],
      },
    ]);
  });

  it("counts a failover with the regions skipped and why", async () => {
    const { upload, points, logged } = setup();
    const broken = await spawnRegion("broken");
    await setMode(broken, "broken");
    const response = await upload([broken, regionsOf.eu]);
    expect(response.status).toBe(202);
    expect(points).toHaveLength(1);
    expect(points[0]?.blobs).toEqual([
      "failed_over",
      "POST",
      "/v1/batches",
      "eu-west",
      "",
      `${broken.name}:unavailable`,
    ]);
    expect(points[0]?.doubles).toEqual([202, expect.any(Number), 1]);
    // A routing decision is always logged.
    expect(logged).toEqual([
      expect.objectContaining({ outcome: "failed_over", status: 202, skipped: `${broken.name}:unavailable` }),
    ]);
  });

  it("counts and logs a rejection with its error code", async () => {
    const { upload, points, logged } = setup();
    expect((await upload([regionsOf.eu], {}, "not-a-key")).status).toBe(401);
    expect(points.map((point) => point.blobs)).toEqual([["rejected", "POST", "/v1/batches", "", "UNAUTHORIZED", ""]]);
    expect(logged).toEqual([expect.objectContaining({ outcome: "rejected", status: 401, error: "UNAUTHORIZED" })]);
  });

  it("counts and logs a spooled upload", async () => {
    const { upload, points, logged } = setup();
    const down = await spawnRegion("down");
    await setMode(down, "draining");
    const spool = recordingQueue();
    expect((await upload([down], { SPOOL: spool.producer })).status).toBe(202);
    expect(points[0]?.blobs.slice(0, 4)).toEqual(["spooled", "POST", "/v1/batches", "spool"]);
    expect(logged).toEqual([expect.objectContaining({ outcome: "spooled", region: "spool" })]);
  });

  it("counts nothing, and still answers, without the binding", async () => {
    const { upload, points } = setup();
    expect((await upload([regionsOf.eu], { EDGE_ANALYTICS: undefined })).status).toBe(202);
    expect(points).toEqual([]);
  });
});

describe("the request log", () => {
  it("logs the first plain success and then one in LOG_SAMPLE_EVERY, and none with 0", async () => {
    const { upload, logged } = setup();
    expect((await upload([regionsOf.eu])).status).toBe(202);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ event: "request", outcome: "routed", status: 202, region: "eu-west" });
    for (let count = 0; count < 6; count++) expect((await upload([regionsOf.eu])).status).toBe(202);
    expect(logged).toHaveLength(3);
    for (let count = 0; count < 6; count++) await upload([regionsOf.eu], { LOG_SAMPLE_EVERY: "0" });
    expect(logged).toHaveLength(3);
  });
});
