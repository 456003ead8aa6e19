// GET/PATCH /v1/issues at the edge: reads forwarded in normalized form, a status change sent to
// every region at once with one time, a manage key required to change it, and bad input answered
// here with a 400 that names it, without asking a region.
import { describe, expect, it } from "vitest";
import { callWith, errorOf, getWithKey, newApp, received, regionsOf } from "../testing/helpers.ts";

const id = "0123456789abcdef01234567";
const patch = (key: string, body: unknown, path = `/v1/issues/${id}`) =>
  callWith({ regions: [regionsOf.eu, regionsOf.us] }, path, {
    method: "PATCH",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("issues at the edge", () => {
  it("forwards reads with the query normalized, and one status change to every region", async () => {
    const keys = await newApp();
    await getWithKey("/v1/issues?status=open&limit=5", keys.read);
    await getWithKey(`/v1/issues/${id}`, keys.read);
    const gets = (await received(keys.appId)).filter((call) => call.method === "GET");
    expect(gets.map((call) => call.pathAndQuery)).toEqual([
      `/internal/v1/apps/${keys.appId}/issues?status=open&limit=5`,
      `/internal/v1/apps/${keys.appId}/issues/${id}`,
    ]);

    // The stub regions hold no groups: their 404 is the answer, after both were asked.
    const answer = await patch(keys.manage, { status: "resolved" });
    expect(answer.status).toBe(404);
    const puts = (await received(keys.appId)).filter((call) => call.method === "PUT");
    expect(puts.map((call) => call.stub).sort()).toEqual(["eu-west", "us-east"]);
    expect(new Set(puts.map((call) => call.body)).size).toBe(1);
    expect(JSON.parse(puts[0]?.body ?? "{}")).toMatchObject({ status: "resolved", updatedAt: expect.any(Number) });
  });

  it("needs a manage key to change a status, and refuses bad input with 400 naming it", async () => {
    const keys = await newApp();
    for (const key of [keys.ingest, keys.read]) expect((await patch(key, { status: "muted" })).status).toBe(403);
    for (const [body, path] of [
      [{ status: "closed" }, `/v1/issues/${id}`],
      [{}, `/v1/issues/${id}`],
      [{ status: "open", extra: 1 }, `/v1/issues/${id}`],
      [{ status: "open" }, "/v1/issues/not-an-id"],
    ] as const) {
      const answer = await patch(keys.manage, body, path);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(answer)).message).toMatch(/status|extra|id/);
    }
    for (const query of ["status=closed", "limit=0", "limit=x", "cursor="]) {
      const answer = await getWithKey(`/v1/issues?${query}`, keys.read);
      expect(answer.status, query).toBe(400);
    }
    expect(await received(keys.appId)).toEqual([]);
  });
});
