// GET/PATCH /v1/app and GET /v1/usage at the edge: settings read from one region, a change sent
// to every region at once (200 once one stored it, 503 when none did), the manage key required to
// change them, and bad input answered here with a 400 that names it.
import { describe, expect, it } from "vitest";
import { appSettingsAnswerSchema, usageAnswerSchema } from "../../shared/lifecycle.ts";
import {
  callWith,
  errorOf,
  getWithKey,
  newApp,
  postBatch,
  received,
  regionsOf,
  sampleUpload,
} from "../testing/helpers.ts";

const patch = (key: string, body: unknown, regions = [regionsOf.eu, regionsOf.us]) =>
  callWith({ regions }, "/v1/app", {
    method: "PATCH",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("app settings and usage at the edge", () => {
  it("sends a retention change to every region and answers with the settings", async () => {
    const keys = await newApp();
    const response = await patch(keys.manage, { retentionDays: 7 });
    expect(response.status).toBe(200);
    expect(appSettingsAnswerSchema.parse(await response.json()).app).toMatchObject({
      id: keys.appId,
      retentionDays: 7,
    });
    const puts = (await received(keys.appId)).filter((call) => call.method === "PUT");
    expect(puts.map((call) => call.stub).sort()).toEqual(["eu-west", "us-east"]);
    const bodies = puts.map((call) => JSON.parse(call.body) as { retentionDays: number; updatedAt: string });
    // One change, one time: every region keeps the same one.
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
    expect(bodies[0]?.retentionDays).toBe(7);

    const read = await getWithKey("/v1/app", keys.read);
    expect(read.status).toBe(200);
    // Forwarded without a bare "?", which a region would not see in the path it verifies.
    const gets = (await received(keys.appId)).filter((call) => call.method === "GET");
    expect(gets.map((call) => call.pathAndQuery)).toEqual([`/internal/v1/apps/${keys.appId}/settings`]);
    expect(appSettingsAnswerSchema.parse(await read.json()).app.retentionDays).toBe(7);
  });

  it("answers 200 when one region stored the change, 503 with Retry-After when none did", async () => {
    const keys = await newApp();
    expect((await patch(keys.manage, { retentionDays: 3 }, [regionsOf.refused, regionsOf.eu])).status).toBe(200);
    const none = await patch(keys.manage, { retentionDays: 3 }, [regionsOf.refused, regionsOf.broken]);
    expect(none.status).toBe(503);
    expect(none.headers.get("retry-after")).not.toBeNull();
    expect((await errorOf(none)).code).toBe("REGION_UNAVAILABLE");
  });

  it("needs a manage key to change settings; ingest and read keys get 403", async () => {
    const keys = await newApp();
    for (const key of [keys.ingest, keys.read]) {
      const refused = await patch(key, { retentionDays: 1 });
      expect(refused.status).toBe(403);
      expect((await errorOf(refused)).code).toBe("FORBIDDEN");
    }
    expect(await received(keys.appId)).toEqual([]);
    expect((await getWithKey("/v1/app", keys.ingest)).status).toBe(403);
    expect((await getWithKey("/v1/usage", keys.ingest)).status).toBe(403);
  });

  it("refuses a bad change or usage query with 400 naming it, without asking a region", async () => {
    const keys = await newApp();
    for (const body of [{}, { retentionDays: 0 }, { retentionDays: 366 }, { retentionDays: "7" }, { days: 7 }]) {
      const answer = await patch(keys.manage, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(answer)).message).toMatch(/retentionDays|days|setting/);
    }
    for (const [query, parameter] of [
      ["from=2026-02-30", "from"],
      ["to=20261204", "to"],
      ["from=2026-12-05&to=2026-12-04", "from"],
      ["bucket=1", "bucket"],
    ]) {
      const answer = await getWithKey(`/v1/usage?${query}`, keys.read);
      expect(answer.status, query).toBe(400);
      expect((await errorOf(answer)).message, query).toContain(parameter);
    }
    expect(await received(keys.appId)).toEqual([]);
  });

  it("forwards usage to a region with the read key and passes the answer through", async () => {
    const keys = await newApp();
    expect((await postBatch(keys.ingest, JSON.stringify(sampleUpload(3)))).status).toBe(202);
    const answer = await getWithKey("/v1/usage?from=2026-01-01", keys.read);
    expect(answer.status).toBe(200);
    expect(usageAnswerSchema.parse(await answer.json()).totals).toMatchObject({ batches: 1, lines: 3 });
  });
});
