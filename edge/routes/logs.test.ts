// GET /v1/logs and GET /v1/devices: the query is validated at the edge (a bad one never reaches
// a region) and forwarded normalized; the region's page is passed through.
import { describe, expect, it } from "vitest";
import { errorOf, getWithKey, newApp, postBatch, received, sampleUpload } from "../testing/helpers.ts";

async function appWithLogs() {
  const keys = await newApp();
  const upload = sampleUpload(3);
  expect((await postBatch(keys.ingest, JSON.stringify(upload))).status).toBe(202);
  return { keys, upload };
}

describe("GET /v1/logs", () => {
  it("refuses a bad query with 400 naming the parameter, and asks no region", async () => {
    const keys = await newApp();
    const cases: [string, RegExp][] = [
      ["level=loud", /^level: /],
      ["limit=0", /^limit: /],
      ["limit=ten", /^limit: /],
      ["from=last-tuesday", /^from: /],
      ["colour=blue", /^query: .*colour/],
    ];
    for (const [query, message] of cases) {
      const response = await getWithKey(`/v1/logs?${query}`, keys.read);
      expect(response.status, query).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe("BAD_REQUEST");
      expect(error.message).toMatch(message);
    }
    expect(await received(keys.appId)).toEqual([]);
  });

  it("forwards the normalized query and passes the region's page through", async () => {
    const { keys, upload } = await appWithLogs();
    const response = await getWithKey(
      "/v1/logs?level=warn&from=2026-11-01T00:00:00Z&to=1793500000000&device=device-1&limit=5",
      keys.read,
      { "x-request-id": "req-read-1" },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("X-Stormlog-Region")).toBe("eu-west");
    const page = (await response.json()) as { logs: { batchId: string; text: string }[]; nextCursor: null };
    expect(page).toMatchObject({ nextCursor: null, integrityErrors: [] });
    expect(page.logs.map((line) => line.text)).toEqual(["line 0", "line 1", "line 2"]);

    const reads = (await received(keys.appId)).filter((call) => call.method === "GET");
    expect(reads).toHaveLength(1);
    // The read key goes along (signed), for the region to check it by itself.
    expect(reads[0]).toMatchObject({ stub: "eu-west", requestId: "req-read-1", signature: "ok", appKey: keys.read });
    const forwarded = new URL(reads[0]?.pathAndQuery ?? "", "http://region");
    expect(forwarded.pathname).toBe(`/internal/v1/apps/${keys.appId}/logs`);
    expect(Object.fromEntries(forwarded.searchParams)).toEqual({
      level: "warn",
      from: String(Date.UTC(2026, 10, 1)),
      to: "1793500000000",
      device: "device-1",
      limit: "5",
    });
    expect(upload.batchId).toBe(page.logs[0]?.batchId);
  });

  it("asks for the default page size when no limit is given", async () => {
    const keys = await newApp();
    expect((await getWithKey("/v1/logs", keys.read)).status).toBe(200);
    const [read] = await received(keys.appId);
    expect(read?.pathAndQuery).toBe(`/internal/v1/apps/${keys.appId}/logs?limit=100`);
  });
});

describe("GET /v1/devices", () => {
  it("passes the region's device list through", async () => {
    const { keys } = await appWithLogs();
    const response = await getWithKey("/v1/devices", keys.read);
    expect(response.status).toBe(200);
    expect(response.headers.get("X-Stormlog-Region")).toBe("eu-west");
    expect(await response.json()).toMatchObject({ devices: [{ id: "device-1", model: "Pixel 9", locale: null }] });
    const reads = (await received(keys.appId)).filter((call) => call.method === "GET");
    expect(reads.map((call) => call.pathAndQuery)).toEqual([`/internal/v1/apps/${keys.appId}/devices?limit=100`]);
    expect(reads.map((call) => call.appKey)).toEqual([keys.read]);
  });
});
