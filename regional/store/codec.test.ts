// The stored form of a batch: it opens only under the right key, app and batch, and tells why not;
// a batch whose device key an erasure destroyed is erased, not damaged.
import { zstdCompressSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { batchJson, parseBatch } from "../../shared/batch.ts";
import { utf8 } from "../../shared/encoding.ts";
import { generateKeyMaterial, Keyring, type KeyringConfig, sealUnderKey } from "../../shared/envelope.ts";
import { openKeystore } from "../keystore/keystore.ts";
import type { Keystore } from "../keystore/types.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { createTestDatabase, type TestDatabase } from "../testing/harness.ts";
import { createBatchCodec, metaOf } from "./codec.ts";

const k1 = generateKeyMaterial();
const k2 = generateKeyMaterial();
const appId = "0123456789abcdef";
const batch = parseBatch(
  makeBatch({ lines: [{ ts: baseTs, text: "secret-marker-codec", attrs: { z: 1, a: [true] } }] }),
);

const opened: { keystore: Keystore; database: TestDatabase }[] = [];
afterEach(async () => {
  for (const { keystore, database } of opened.splice(0)) {
    await keystore.close();
    await database.drop();
  }
});

/** A codec on a key store of its own (a test database's, on PGlite), or on the database given. */
async function codecFor(config: KeyringConfig, database?: TestDatabase) {
  const own = database ?? (await createTestDatabase("pglite"));
  const keyring = await Keyring.fromConfig(config);
  const keystore = await openKeystore(own.keystore, keyring);
  if (!database) opened.push({ keystore, database: own });
  return { codec: createBatchCodec(keyring, keystore), keystore, keyring };
}

const ciphertextOf = (keyId: string) => `ciphertext does not authenticate under device key "${keyId}"`;

describe("batch codec", () => {
  it("round-trips a batch under its device key (format 4) and never stores its text in clear", async () => {
    const { codec } = await codecFor({ active: "k1", keys: { k1 } });
    const sealed = await codec.seal(appId, batch);
    expect(sealed.format).toBe(4);
    expect(sealed.keyId).toMatch(/^dk_[0-9a-f]{32}$/);
    expect(Buffer.from(sealed.ciphertext).includes("secret-marker-codec")).toBe(false);
    expect(await codec.open(appId, batch.batchId, sealed)).toEqual({ ok: true, value: batch });
    expect(await codec.openJson(appId, batch.batchId, sealed)).toEqual({ ok: true, value: batchJson(batch) });
    // One device, one key: the next batch of the device is sealed under the same one.
    expect((await codec.seal(appId, { ...batch, batchId: "another" })).keyId).toBe(sealed.keyId);
  });

  it("does not open under another app or batch id, with altered metadata, or tampered bytes", async () => {
    const { codec } = await codecFor({ active: "k1", keys: { k1 } });
    const sealed = await codec.seal(appId, batch);
    const otherBatch = await codec.open(appId, "another-batch-id", sealed);
    expect(otherBatch).toEqual({
      ok: false,
      error: { batchId: "another-batch-id", message: ciphertextOf(sealed.keyId), cause: "integrity" },
    });
    // Another app does not hold the device key at all.
    expect((await codec.open("fedcba9876543210", batch.batchId, sealed)).ok).toBe(false);
    const { meta } = sealed;
    for (const altered of [
      { ...meta, firstTs: meta.firstTs - 1 },
      { ...meta, counts: { ...meta.counts, fatalCount: 1 } },
    ]) {
      const result = await codec.open(appId, batch.batchId, { ...sealed, meta: altered });
      expect(result.ok).toBe(false);
    }
    for (const field of ["ciphertext", "wrappedKey"] as const) {
      const tampered = { ...sealed, [field]: sealed[field].slice() };
      tampered[field][20] = (tampered[field][20] as number) ^ 1;
      expect((await codec.open(appId, batch.batchId, tampered)).ok, field).toBe(false);
    }
    // Nor does a format 4 seal open as format 2 (under the keyring) or 3 (without its header).
    expect((await codec.open(appId, batch.batchId, { ...sealed, format: 2 })).ok).toBe(false);
    expect((await codec.open(appId, batch.batchId, { ...sealed, format: 3 })).ok).toBe(false);
  });

  it("checks a format 4 batch without issues by decrypting it only, and refuses one that does not authenticate", async () => {
    const { codec } = await codecFor({ active: "k1", keys: { k1 } });
    const sealed = await codec.seal(appId, batch);
    expect(await codec.check(appId, batch.batchId, sealed)).toEqual({
      ok: true,
      value: { device: batch.device, batch: null },
    });
    const tampered = { ...sealed, ciphertext: sealed.ciphertext.slice() };
    tampered.ciphertext[20] = (tampered.ciphertext[20] as number) ^ 1;
    expect((await codec.check(appId, batch.batchId, tampered)).ok).toBe(false);
    expect((await codec.check(appId, batch.batchId, { ...sealed, meta: { ...sealed.meta, lastTs: 1 } })).ok).toBe(
      false,
    );
    // A batch with an issue occurrence is parsed, for the issues its receiver groups.
    const crash = parseBatch(
      makeBatch({
        lines: [
          { ts: baseTs, tag: "stormlog.crash", level: "fatal", text: "boom", attrs: { "stormlog.body": "at x" } },
        ],
      }),
    );
    const sealedCrash = await codec.seal(appId, crash);
    expect(await codec.check(appId, crash.batchId, sealedCrash)).toEqual({
      ok: true,
      value: { device: crash.device, batch: crash },
    });
  });

  it("still opens format 3, sealed with WebCrypto and no header, as every seal was before format 4", async () => {
    const { codec, keystore } = await codecFor({ active: "k1", keys: { k1 } });
    const meta = metaOf(batch);
    const deviceKey = await keystore.sealingKey(appId, meta.deviceId);
    const context = {
      appId,
      batchId: batch.batchId,
      metadata: [meta.deviceId, meta.firstTs, meta.lastTs, ...Object.values(meta.counts)],
    };
    const packed = zstdCompressSync(utf8(batchJson(batch)));
    const sealed = await sealUnderKey(deviceKey.key, deviceKey.keyId, new Uint8Array(packed), context);
    const stored = { ...sealed, format: 3 as const, meta };
    expect(await codec.open(appId, batch.batchId, stored)).toEqual({ ok: true, value: batch });
    expect(await codec.check(appId, batch.batchId, stored)).toEqual({
      ok: true,
      value: { device: batch.device, batch },
    });
  });

  it("reports a batch whose device key an erasure destroyed as erased, a key merely missing as integrity", async () => {
    const { codec, keystore } = await codecFor({ active: "k1", keys: { k1 } });
    const sealed = await codec.seal(appId, batch);
    const missing = await codec.open(appId, batch.batchId, { ...sealed, keyId: `dk_${"0".repeat(32)}` });
    expect(missing).toEqual({
      ok: false,
      error: {
        batchId: batch.batchId,
        message: `sealed under device key "dk_${"0".repeat(32)}", which is not in the key store`,
        cause: "integrity",
      },
    });
    const erasure = {
      id: `er_${"1".repeat(32)}`,
      appId,
      deviceId: metaOf(batch).deviceId,
      requestedAt: new Date().toISOString(),
    };
    await keystore.record(erasure);
    expect(await keystore.destroyKeys(erasure)).toEqual([sealed.keyId]);
    expect(await codec.open(appId, batch.batchId, sealed)).toEqual({
      ok: false,
      error: { batchId: batch.batchId, message: `erased by ${erasure.id}`, cause: "erased" },
    });
    // The device's next batch gets a new key, never the destroyed one.
    const next = await codec.seal(appId, { ...batch, batchId: "after-erasure" });
    expect(next.keyId).not.toBe(sealed.keyId);
    expect((await codec.open(appId, "after-erasure", next)).ok).toBe(true);
  });

  it("opens what was sealed before a keyring rotation: app keys stay wrapped under the older key", async () => {
    const database = await createTestDatabase("pglite");
    const before = await codecFor({ active: "k1", keys: { k1 } }, database);
    const sealed = await before.codec.seal(appId, batch);
    await before.keystore.close();
    const after = await codecFor({ active: "k2", keys: { k1, k2 } }, database);
    expect(await after.codec.open(appId, batch.batchId, sealed)).toEqual({ ok: true, value: batch });
    await after.keystore.close();
    await database.drop();
  });

  it("still opens batches sealed in formats 1 and 2, under the keyring", async () => {
    const { codec, keyring } = await codecFor({ active: "k1", keys: { k1 } });
    const packed = zstdCompressSync(batchJson(batch));
    const first = await keyring.seal(packed, { appId, batchId: batch.batchId });
    expect(await codec.open(appId, batch.batchId, { ...first, format: 1 })).toEqual({ ok: true, value: batch });
    const meta = metaOf(batch);
    const bound = [meta.deviceId, meta.firstTs, meta.lastTs, ...Object.values(meta.counts)];
    const second = await keyring.seal(packed, { appId, batchId: batch.batchId, metadata: bound });
    expect(await codec.open(appId, batch.batchId, { ...second, format: 2, meta })).toEqual({ ok: true, value: batch });
    const unknown = await codec.open(appId, batch.batchId, { ...first, keyId: "k9", format: 1 });
    expect(unknown).toEqual({
      ok: false,
      error: {
        batchId: batch.batchId,
        message: 'sealed under key "k9", which is not in the keyring',
        cause: "integrity",
      },
    });
  });

  it("reports an authentic payload that is not zstd or not this batch as an integrity failure", async () => {
    const { codec, keyring } = await codecFor({ active: "k1", keys: { k1, k2 } });
    const garbage = await keyring.seal(utf8("not zstd at all"), { appId, batchId: batch.batchId });
    expect(await codec.open(appId, batch.batchId, { ...garbage, format: 1 })).toEqual({
      ok: false,
      error: { batchId: batch.batchId, message: "payload does not decompress", cause: "integrity" },
    });
    const otherJson = zstdCompressSync(batchJson({ ...batch, batchId: "other-batch-id" }));
    const misfiled = await keyring.seal(otherJson, { appId, batchId: batch.batchId });
    expect(await codec.open(appId, batch.batchId, { ...misfiled, format: 1 })).toEqual({
      ok: false,
      error: { batchId: batch.batchId, message: "payload is not this batch's JSON", cause: "integrity" },
    });
  });
});
