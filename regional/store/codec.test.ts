// The stored form of a batch: it opens only under the right key, app and batch, and tells why not.
import { zstdCompressSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { batchJson, parseBatch } from "../../shared/batch.ts";
import { utf8 } from "../../shared/encoding.ts";
import { generateKeyMaterial, Keyring } from "../../shared/envelope.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { createBatchCodec, metaOf } from "./codec.ts";

const k1 = generateKeyMaterial();
const k2 = generateKeyMaterial();
const appId = "0123456789abcdef";
const batch = parseBatch(
  makeBatch({ lines: [{ ts: baseTs, text: "secret-marker-codec", attrs: { z: 1, a: [true] } }] }),
);

async function codecFor(active: string, keys: Record<string, string>) {
  return createBatchCodec(await Keyring.fromConfig({ active, keys }));
}

describe("batch codec", () => {
  it("round-trips a batch and never stores its text in clear", async () => {
    const codec = await codecFor("k1", { k1 });
    const sealed = await codec.seal(appId, batch);
    expect(sealed.keyId).toBe("k1");
    expect(Buffer.from(sealed.ciphertext).includes("secret-marker-codec")).toBe(false);
    const opened = await codec.open(appId, batch.batchId, sealed);
    expect(opened).toEqual({ ok: true, value: batch });
    expect(await codec.openJson(appId, batch.batchId, sealed)).toEqual({ ok: true, value: batchJson(batch) });
  });

  it("does not open under another app or batch id (AAD)", async () => {
    const codec = await codecFor("k1", { k1 });
    const sealed = await codec.seal(appId, batch);
    const otherApp = await codec.open("fedcba9876543210", batch.batchId, sealed);
    const otherBatch = await codec.open(appId, "another-batch-id", sealed);
    for (const result of [otherApp, otherBatch]) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.message).toBe('ciphertext does not authenticate under key "k1"');
    }
  });

  it("does not open when presented under another key id", async () => {
    const codec = await codecFor("k1", { k1, k2 });
    const sealed = await codec.seal(appId, batch);
    const relabelled = await codec.open(appId, batch.batchId, { ...sealed, keyId: "k2" });
    expect(relabelled).toEqual({
      ok: false,
      error: { batchId: batch.batchId, message: 'ciphertext does not authenticate under key "k2"' },
    });
    const unknown = await codec.open(appId, batch.batchId, { ...sealed, keyId: "k9" });
    expect(unknown).toEqual({
      ok: false,
      error: { batchId: batch.batchId, message: 'sealed under key "k9", which is not in the keyring' },
    });
  });

  it("reports a flipped byte in the ciphertext or the wrapped key", async () => {
    const codec = await codecFor("k1", { k1 });
    const sealed = await codec.seal(appId, batch);
    for (const field of ["ciphertext", "wrappedKey"] as const) {
      const tampered = { ...sealed, [field]: sealed[field].slice() };
      tampered[field][20] = (tampered[field][20] as number) ^ 1;
      const opened = await codec.open(appId, batch.batchId, tampered);
      expect(opened.ok, field).toBe(false);
    }
  });

  it("opens what an older key sealed after rotation, and seals with the new active key", async () => {
    const before = await codecFor("k1", { k1 });
    const sealed = await before.seal(appId, batch);
    const after = await codecFor("k2", { k1, k2 });
    expect(await after.open(appId, batch.batchId, sealed)).toEqual({ ok: true, value: batch });
    expect((await after.seal(appId, batch)).keyId).toBe("k2");
    const retired = await codecFor("k2", { k2 });
    expect((await retired.open(appId, batch.batchId, sealed)).ok).toBe(false);
  });

  it("reports an authentic payload that is not zstd or not this batch as an integrity failure", async () => {
    const keyring = await Keyring.fromConfig({ active: "k1", keys: { k1 } });
    const codec = createBatchCodec(keyring);
    const garbage = await keyring.seal(utf8("not zstd at all"), { appId, batchId: batch.batchId });
    expect(await codec.open(appId, batch.batchId, { ...garbage, format: 1 })).toEqual({
      ok: false,
      error: { batchId: batch.batchId, message: "payload does not decompress" },
    });
    const otherJson = zstdCompressSync(batchJson({ ...batch, batchId: "other-batch-id" }));
    const misfiled = await keyring.seal(otherJson, { appId, batchId: batch.batchId });
    expect(await codec.open(appId, batch.batchId, { ...misfiled, format: 1 })).toEqual({
      ok: false,
      error: { batchId: batch.batchId, message: "payload is not this batch's JSON" },
    });
  });

  it("binds the clear metadata: the device, the time span and the level counts the row is stored with", async () => {
    const codec = await codecFor("k1", { k1 });
    const sealed = await codec.seal(appId, batch);
    expect(sealed.format).toBe(2);
    expect(sealed.meta).toEqual(metaOf(batch));
    const { meta } = sealed;
    for (const altered of [
      { ...meta, deviceId: "another-device" },
      { ...meta, firstTs: meta.firstTs - 1 },
      { ...meta, lastTs: Date.UTC(2099, 0, 1) },
      { ...meta, counts: { ...meta.counts, fatalCount: 1 } },
    ]) {
      const opened = await codec.open(appId, batch.batchId, { ...sealed, meta: altered });
      expect(opened).toEqual({
        ok: false,
        error: { batchId: batch.batchId, message: 'ciphertext does not authenticate under key "k1"' },
      });
    }
    // Nor does a format 2 seal open as format 1 (without its metadata), or the other way round.
    expect((await codec.open(appId, batch.batchId, { ...sealed, format: 1 })).ok).toBe(false);
  });

  it("still opens batches sealed in the first format, which bound only the ids", async () => {
    const keyring = await Keyring.fromConfig({ active: "k1", keys: { k1 } });
    const firstFormat = await keyring.seal(zstdCompressSync(batchJson(batch)), { appId, batchId: batch.batchId });
    expect(await createBatchCodec(keyring).open(appId, batch.batchId, { ...firstFormat, format: 1 })).toEqual({
      ok: true,
      value: batch,
    });
  });
});
