// The console's reads at the edge: GET /v1/logs's new parameters, GET /v1/devices's search and
// paging, GET /v1/tail and GET /v1/stats/volume. Each query is validated here (a bad one is a 400
// naming the parameter and never reaches a region), forwarded normalized, and answered through.
import { describe, expect, it } from "vitest";
import { volumeAnswerSchema } from "../../shared/console-api.ts";
import { devicePageSchema, logPageSchema } from "../../shared/read.ts";
import { errorOf, getWithKey, newApp, postBatch, received, sampleUpload } from "../testing/helpers.ts";

const forwardedQuery = async (appId: string) => {
  const reads = (await received(appId)).filter((call) => call.method === "GET");
  expect(reads).toHaveLength(1);
  const url = new URL(reads[0]?.pathAndQuery ?? "", "http://region");
  return { path: url.pathname, query: Object.fromEntries(url.searchParams) };
};

describe("the console's reads at the edge", () => {
  it("forwards order, a level set, tag and around in normalized form", async () => {
    const keys = await newApp();
    const response = await getWithKey("/v1/logs?around=batch:with:colons:7&levels=fatal,error&tag=net", keys.read);
    expect(response.status).toBe(200);
    logPageSchema.parse(await response.json());
    expect(await forwardedQuery(keys.appId)).toEqual({
      path: `/internal/v1/apps/${keys.appId}/logs`,
      query: { around: "batch:with:colons:7", levels: "error,fatal", tag: "net", limit: "100" },
    });
  });

  it("forwards a device search and passes the page with counts through", async () => {
    const keys = await newApp();
    expect((await postBatch(keys.ingest, JSON.stringify(sampleUpload(3)))).status).toBe(202);
    const response = await getWithKey("/v1/devices?q=pixel&limit=20", keys.read);
    expect(response.status).toBe(200);
    const page = devicePageSchema.parse(await response.json());
    expect(page.devices[0]?.counts.info).toBeGreaterThanOrEqual(0);
    const reads = (await received(keys.appId)).filter((call) => call.method === "GET");
    expect(reads.map((call) => call.pathAndQuery)).toEqual([
      `/internal/v1/apps/${keys.appId}/devices?q=pixel&limit=20`,
    ]);
  });

  it("resolves the histogram's window here (the last 24 h by default), so every region counts the same", async () => {
    const keys = await newApp();
    const before = Date.now();
    const response = await getWithKey("/v1/stats/volume?device=d1", keys.read);
    expect(response.status).toBe(200);
    volumeAnswerSchema.parse(await response.json());
    const { path, query } = await forwardedQuery(keys.appId);
    expect(path).toBe(`/internal/v1/apps/${keys.appId}/volume`);
    expect(Number(query.to) - Number(query.from)).toBe(24 * 60 * 60 * 1000);
    expect(Number(query.to)).toBeGreaterThanOrEqual(before - 1000);
    expect(query).toMatchObject({ device: "d1", buckets: "60" });
  });

  it("forwards a tail poll", async () => {
    const keys = await newApp();
    const response = await getWithKey("/v1/tail?level=warn&limit=50", keys.read);
    expect(response.status).toBe(200);
    expect(await forwardedQuery(keys.appId)).toEqual({
      path: `/internal/v1/apps/${keys.appId}/tail`,
      query: { level: "warn", limit: "50" },
    });
  });

  it.each([
    ["/v1/logs?order=up", /^order: /],
    ["/v1/logs?levels=error,loud", /^levels: /],
    ["/v1/logs?tag=a%00b", /^tag: /],
    ["/v1/logs?around=nope", /^around: /],
    ["/v1/logs?around=batch-0001:99999", /^around: /],
    ["/v1/devices?limit=1e400", /^limit: /],
    ["/v1/devices?cursor=forged", /^cursor: /],
    ["/v1/stats/volume?buckets=9999", /^buckets: /],
    ["/v1/stats/volume?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", /^from: /],
    ["/v1/tail?after=forged", /^after: /],
  ])("refuses %s with 400 naming the parameter, and asks no region", async (path, message) => {
    const keys = await newApp();
    const response = await getWithKey(path, keys.read);
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toMatch(message);
    expect(await received(keys.appId)).toEqual([]);
  });

  it("refuses an ingest key on every read", async () => {
    const keys = await newApp();
    for (const path of ["/v1/devices", "/v1/tail", "/v1/stats/volume", "/v1/logs?order=desc"]) {
      const response = await getWithKey(path, keys.ingest);
      expect(response.status, path).toBe(403);
    }
  });
});
