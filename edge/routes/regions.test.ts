// GET /v1/regions: each region's state and its digest of the app, whether the digests agree, and
// which region serves this client's reads; a region that does not answer leaves a null digest.
import { describe, expect, it } from "vitest";
import { regionsAnswerSchema } from "../../shared/console-api.ts";
import { callWith, newApp, regionsOf, sampleUpload } from "../testing/helpers.ts";

describe("GET /v1/regions", () => {
  const get = (regions: (typeof regionsOf)[keyof typeof regionsOf][], key: string) =>
    callWith({ regions }, "/v1/regions", { headers: { authorization: `Bearer ${key}` } });

  it("compares every region's digest of the app, and names the one serving reads", async () => {
    const keys = await newApp();
    const answer = regionsAnswerSchema.parse(await (await get([regionsOf.eu, regionsOf.us], keys.read)).json());
    expect(answer.regions.map((region) => region.name)).toEqual(["eu-west", "us-east"]);
    expect(answer.regions.map((region) => region.batches)).toEqual([0, 0]);
    expect(answer.digestsAgree).toBe(true);
    expect(answer.servedBy).toBe("eu-west");

    // A batch only one stub holds: the digests differ.
    const upload = await callWith({ regions: [regionsOf.eu] }, "/v1/batches", {
      method: "POST",
      headers: { authorization: `Bearer ${keys.ingest}`, "content-type": "application/json" },
      body: JSON.stringify(sampleUpload(1)),
    });
    expect(upload.status).toBe(202);
    const after = regionsAnswerSchema.parse(await (await get([regionsOf.eu, regionsOf.us], keys.read)).json());
    expect(after.regions.map((region) => region.batches)).toEqual([1, 0]);
    expect(after.digestsAgree).toBe(false);
  });

  it("shows a region that does not answer with no digest, and serves from the next", async () => {
    const keys = await newApp();
    const response = await get([regionsOf.refused, regionsOf.us], keys.read);
    expect(response.status).toBe(200);
    const answer = regionsAnswerSchema.parse(await response.json());
    expect(answer.regions.find((region) => region.name === "refused")?.digest).toBeNull();
    expect(answer.servedBy).toBe("us-east");
    expect(answer.digestsAgree).toBe(false);
  });

  it("needs a read key", async () => {
    const keys = await newApp();
    expect((await get([regionsOf.eu], keys.ingest)).status).toBe(403);
  });
});
