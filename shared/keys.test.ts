import { describe, expect, it } from "vitest";
import { keyAllows, keyHash, keyKinds, keyLabel, mintKey, newAppId, verifyKey } from "./keys.ts";

const secret = "k".repeat(32);

describe("app keys", () => {
  it("verify with the secret they were minted with, naming app and kind", async () => {
    const appId = newAppId();
    const key = await mintKey(secret, appId, "read");
    expect(await verifyKey(secret, key)).toEqual({ appId, kind: "read" });
    expect(keyLabel(key)).toMatch(new RegExp(`^sl_read_${appId}_[0-9a-f]{6}…$`));
    expect(await keyHash(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("do not verify when forged, altered or minted under another secret", async () => {
    const appId = newAppId();
    const key = await mintKey(secret, appId, "read");
    expect(await verifyKey("x".repeat(32), key)).toBeNull();
    // Claiming another kind or app breaks the mac.
    expect(await verifyKey(secret, key.replace("sl_read_", "sl_ingest_"))).toBeNull();
    expect(await verifyKey(secret, key.replace(appId, newAppId()))).toBeNull();
    expect(await verifyKey(secret, `${key.slice(0, -1)}${key.endsWith("0") ? "1" : "0"}`)).toBeNull();
    expect(await verifyKey(secret, "Bearer nonsense")).toBeNull();
  });

  it("of every kind verify, and a manage key also reads, while nothing else stands in for another", async () => {
    const appId = newAppId();
    for (const kind of keyKinds)
      expect(await verifyKey(secret, await mintKey(secret, appId, kind))).toEqual({ appId, kind });
    const allowed = keyKinds.flatMap((held) =>
      keyKinds.filter((needed) => keyAllows(held, needed)).map((needed) => `${held}->${needed}`),
    );
    expect(allowed).toEqual(["ingest->ingest", "read->read", "manage->read", "manage->manage"]);
  });
});
