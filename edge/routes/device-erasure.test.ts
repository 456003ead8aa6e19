// DELETE /v1/devices/:id and GET /v1/erasures/:id at the edge: only a manage key erases, ids are
// checked before any region is asked, and an erasure no region recorded is a 503 to retry.
// (Erasure end to end, through real regions, is test/erasure.e2e.test.ts.)
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { mintKey } from "../../shared/keys.ts";
import { callWith, errorOf, newApp, regionsOf } from "../testing/helpers.ts";

const regions = [regionsOf.eu, regionsOf.us];
const erase = (deviceId: string, key: string) =>
  callWith({ regions }, `/v1/devices/${deviceId}`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
const status = (id: string, key: string) =>
  callWith({ regions }, `/v1/erasures/${id}`, { headers: { authorization: `Bearer ${key}` } });

describe("DELETE /v1/devices/:deviceId", () => {
  it("refuses ingest and read keys with 403, before asking any region", async () => {
    const keys = await newApp();
    for (const key of [keys.ingest, keys.read]) {
      const response = await erase("phone-1", key);
      expect(response.status).toBe(403);
      expect((await errorOf(response)).message).toContain("manage key");
    }
  });

  it("says 400 for a device id that could not be one, and 503 with Retry-After when no region records it", async () => {
    const keys = await newApp();
    const manage = await mintKey(env.KEY_SECRET, keys.appId, "manage");
    const tooLong = await erase("x".repeat(300), manage);
    expect(tooLong.status).toBe(400);
    expect((await errorOf(tooLong)).code).toBe("BAD_REQUEST");
    // The stub regions know no erasure route (404): nothing was recorded anywhere.
    const none = await erase("phone-1", manage);
    expect(none.status).toBe(503);
    expect(none.headers.get("retry-after")).not.toBeNull();
  });
});

describe("GET /v1/erasures/:erasureId", () => {
  it("needs a read key and an erasure id", async () => {
    const keys = await newApp();
    expect((await status(`er_${"a".repeat(32)}`, keys.ingest)).status).toBe(403);
    expect((await status("er_not-an-id", keys.read)).status).toBe(400);
  });
});
