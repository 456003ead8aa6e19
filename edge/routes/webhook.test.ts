// PUT /v1/webhook at the edge: one config with a new secret to every region, answered with the
// secret only when all stored it; a manage key required; a bad URL a 400 without asking a region.
import { describe, expect, it } from "vitest";
import { callWith, errorOf, newApp, received, regionsOf } from "../testing/helpers.ts";

const put = (key: string, body: unknown, regions = [regionsOf.eu, regionsOf.us]) =>
  callWith({ regions }, "/v1/webhook", {
    method: "PUT",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("the issue webhook at the edge", () => {
  it("sends one config to every region and answers the secret once all stored it", async () => {
    const keys = await newApp();
    const answer = await put(keys.manage, { url: "https://hooks.example/stormlog" });
    expect(answer.status).toBe(200);
    const { url, secret } = (await answer.json()) as { url: string; secret: string };
    expect(url).toBe("https://hooks.example/stormlog");
    expect(secret).toMatch(/^whsec_[0-9a-f]{48}$/);
    const puts = (await received(keys.appId)).filter((call) => call.method === "PUT");
    expect(puts.map((call) => call.stub).sort()).toEqual(["eu-west", "us-east"]);
    expect(puts.map((call) => JSON.parse(call.body))).toEqual([
      { url, secret },
      { url, secret },
    ]);

    const partial = await put(keys.manage, { url }, [regionsOf.eu, regionsOf.broken]);
    expect(partial.status).toBe(503);
    expect(partial.headers.get("retry-after")).not.toBeNull();
  });

  it("needs a manage key, and refuses a bad URL with 400 without asking a region", async () => {
    const keys = await newApp();
    for (const key of [keys.ingest, keys.read]) expect((await put(key, { url: "https://x.example" })).status).toBe(403);
    for (const body of [
      {},
      { url: "ftp://x.example" },
      { url: "not a url" },
      { url: "https://x.example", secret: "s" },
    ]) {
      const answer = await put(keys.manage, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(answer)).message).toMatch(/url|secret/);
    }
    expect(await received(keys.appId)).toEqual([]);
  });
});
