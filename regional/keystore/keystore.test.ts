// Which erasure covers a device, as every upload and replica asks: answered from the app's
// erasures held in memory (one query per app), or device by device for an app with very many;
// both give the database's answer, and an erasure recorded here is seen at once. Keys stay in
// memory far longer than erasures: a key another process's erasure destroyed stops sealing once
// this process sees the erasure.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Keyring } from "../../shared/envelope.ts";
import { type Erasure, newErasureId } from "../../shared/lifecycle.ts";
import { createTestDatabase, drivers, type TestDatabase, testAppId, testKeyring } from "../testing/harness.ts";
import { openKeystore } from "./keystore.ts";
import type { Keystore } from "./types.ts";

const erasureOf = (appId: string, deviceId: string | null, requestedAtMs: number): Erasure => ({
  id: newErasureId(),
  appId,
  deviceId,
  requestedAt: new Date(requestedAtMs).toISOString(),
});

describe.each(drivers)("the key store's covering erasure on %s", (kind) => {
  let database: TestDatabase;
  let keystore: Keystore;
  const startMs = Date.UTC(2026, 5, 1);

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    keystore = await openKeystore(database.keystore, await Keyring.fromConfig(testKeyring()));
  });
  afterAll(async () => {
    await keystore?.close();
    await database?.drop();
  });

  it("answers a device's latest erasure, the app's over any device's, and sees one recorded here at once", async () => {
    const appId = testAppId();
    expect(await keystore.covering(appId, "phone-1")).toBeNull();
    const first = await keystore.record(erasureOf(appId, "phone-1", startMs));
    const second = await keystore.record(erasureOf(appId, "phone-1", startMs + 60_000));
    await keystore.record(erasureOf(appId, "phone-2", startMs + 30_000));
    expect((await keystore.covering(appId, "phone-1"))?.id).toBe(second.id);
    expect((await keystore.covering(appId, "phone-3")) ?? null).toBeNull();
    expect(await keystore.appErased(appId)).toBe(false);
    expect(first.id).not.toBe(second.id);

    // Earlier than the device erasures, and still the one that covers them all.
    const wholeApp = await keystore.record(erasureOf(appId, null, startMs - 60_000));
    for (const device of ["phone-1", "phone-2", "phone-3"]) {
      expect((await keystore.covering(appId, device))?.id, device).toBe(wholeApp.id);
    }
    expect(await keystore.appErased(appId)).toBe(true);
    expect(await keystore.covering(testAppId(), "phone-1")).toBeNull();
  });

  it("asks device by device for an app with more erasures than it holds in memory, with the same answers", async () => {
    const appId = testAppId();
    const recorded = new Map<string, string>();
    for (let index = 0; index < 1001; index += 1) {
      const erasure = await keystore.record(erasureOf(appId, `device-${index}`, startMs + index));
      recorded.set(`device-${index}`, erasure.id);
    }
    for (const device of ["device-0", "device-500", "device-1000"]) {
      expect((await keystore.covering(appId, device))?.id, device).toBe(recorded.get(device));
    }
    expect(await keystore.covering(appId, "device-1001")).toBeNull();
    const latest = await keystore.record(erasureOf(appId, "device-7", startMs + 5000));
    expect((await keystore.covering(appId, "device-7"))?.id).toBe(latest.id);
  });
});

// Two processes of one region share its key store only on PostgreSQL.
describe.skipIf(!drivers.includes("postgres"))("two processes on one key store (postgres)", () => {
  let database: TestDatabase;
  const keystores: Keystore[] = [];
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    const keyring = await Keyring.fromConfig(testKeyring());
    for (let index = 0; index < 2; index += 1) keystores.push(await openKeystore(database.keystore, keyring));
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    for (const keystore of keystores) await keystore.close();
    await database?.drop();
  });

  it("stops sealing under a key the other destroyed once the erasure is seen, and makes a new one", async () => {
    const [mine, other] = keystores as [Keystore, Keystore];
    const appId = testAppId();
    const before = await mine.sealingKey(appId, "phone-1");
    expect((await mine.sealingKey(appId, "phone-1")).keyId).toBe(before.keyId);

    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 1000 });
    const erasure = await other.record({
      id: newErasureId(),
      appId,
      deviceId: "phone-1",
      requestedAt: new Date().toISOString(),
    });
    expect(await other.destroyKeys(erasure)).toEqual([before.keyId]);
    // Seen within the erasure cache's 10 s, not the keys' minutes.
    vi.setSystemTime(Date.now() + 11_000);
    expect((await mine.covering(appId, "phone-1"))?.id).toBe(erasure.id);
    const after = await mine.sealingKey(appId, "phone-1");
    expect(after.keyId).not.toBe(before.keyId);
    expect(await other.openingKey(appId, after.keyId)).not.toBeNull();
  });
});
