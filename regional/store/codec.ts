/**
 * How a batch is stored: canonical JSON, compressed with zstd, sealed by the keyring with the
 * batch's identity and its clear metadata bound in (shared/envelope.ts). The clear metadata
 * (`BatchMeta`: device, time span, lines per level) is what reads pick candidate batches by, so
 * binding it means a row whose metadata was altered in the database does not open. Reading
 * reverses it. A stored batch that does not open, decompress or parse is an integrity failure
 * returned as a value, so one bad row is reported by id while the rest of a read goes on.
 *
 * Format 3 (every new seal) wraps the batch's data key under its device's key from the key store
 * (regional/keystore/) instead of the keyring: destroying that key erases the batch everywhere. A
 * format-3 batch whose device key is gone, with an erasure of its device or app known here, is
 * `erased`, not an integrity failure; a key missing with no erasure covering it still is one.
 */
import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { type Batch, batchJson, type Device, type Level, levels } from "../../shared/batch.ts";
import { utf8 } from "../../shared/encoding.ts";
import { type Keyring, openUnderKey, type SealContext, type Sealed, sealUnderKey } from "../../shared/envelope.ts";
import { occurrenceOf } from "../../shared/issues.ts";
import { limits } from "../../shared/limits.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import type { Keystore } from "../keystore/types.ts";
import { openUnderKeySync, sealUnderKeySync } from "./node-seal.ts";

/** Generous bound on what one stored batch may inflate to (it was checked against the limits). */
const storedJsonBytesMax = 4 * limits.inflatedBytesMax;

/** What a region keeps in clear about a batch, derived from its lines. */
export type BatchMeta = {
  deviceId: string;
  firstTs: number;
  lastTs: number;
  counts: Record<`${Level}Count`, number>;
};

/**
 * Seal formats: 1 bound only the app and batch ids (batches stored before format 2 still open);
 * 2 also binds the clear metadata; 3 binds the same, with the data key wrapped under the device's
 * key (whose id is `keyId`) instead of the keyring's. 4 is 3 with a small header at the start of
 * the plaintext (`SealHeader`, inside the authenticated ciphertext): what a peer needs to store
 * the batch, so it checks a replica by decrypting it without decompressing or parsing it. Every
 * new seal is format 4; sync zstd and node:crypto (node-seal.ts) cost a fraction of their async
 * and WebCrypto forms in Node (zstd of a 12 KiB batch: 102 µs of CPU against 424 µs).
 */
export type SealFormat = 1 | 2 | 3 | 4;

export type StoredSeal = Sealed & ({ format: 1; meta?: BatchMeta } | { format: 2 | 3 | 4; meta: BatchMeta });

/** Format 4's header: the device as sent (its info goes to the device row), and whether any line is an issue occurrence. */
export type SealHeader = { device: Device; issues: boolean };

/** What a replica needs stored, from its seal: the device, and the batch itself when it must be parsed (issues). */
export type Checked = { device: Device; batch: Batch | null };

/** Why a stored batch does not open: it cannot be trusted, or its key was destroyed by an erasure. */
export type IntegrityFailure = { batchId: string; message: string; cause: "integrity" | "erased" };

export type BatchCodec = {
  seal(appId: string, batch: Batch): Promise<StoredSeal & { format: 4; meta: BatchMeta }>;
  /**
   * `seal`, given the batch's canonical JSON (`batchJson`) the caller already made, so it is made
   * once, and whether it holds issue occurrences (issues.ts).
   */
  sealJson(
    appId: string,
    batch: Batch,
    json: string,
    issues: boolean,
  ): Promise<StoredSeal & { format: 4; meta: BatchMeta }>;
  /**
   * Authenticates a stored batch (a peer's replica) and answers what storing it needs; a format-4
   * batch without issue occurrences is decrypted only, not decompressed or parsed.
   */
  check(appId: string, batchId: string, stored: StoredSeal): Promise<Result<Checked, IntegrityFailure>>;
  /** The stored batch, or why it cannot be trusted. */
  open(appId: string, batchId: string, stored: StoredSeal): Promise<Result<Batch, IntegrityFailure>>;
  /** The stored canonical JSON, to compare with a batch sent again under the same id. */
  openJson(appId: string, batchId: string, stored: StoredSeal): Promise<Result<string, IntegrityFailure>>;
  /** An issue group's signature (store/issues.ts): a keyed hash, the same in every region. */
  issueSignature(appId: string, signatureText: string): Promise<string>;
  /** The app's search filter key (store/search-filter.ts): the same in every region, never stored. */
  searchFilterKey(appId: string): Promise<Uint8Array<ArrayBuffer>>;
  /** Seals an issue group's title or sample under the device key its occurrence's batch is sealed under. */
  sealText(appId: string, deviceId: string, purpose: string, text: string): Promise<Sealed>;
  /** What `sealText` sealed; null when its key is gone (an erasure) or it does not authenticate. */
  openText(appId: string, purpose: string, sealed: Sealed): Promise<string | null>;
  /** A secret the region must use again (a webhook's signing secret), sealed under the keyring, as text. */
  sealSecret(appId: string, purpose: string, secret: string): Promise<string>;
  openSecret(appId: string, purpose: string, sealed: string): Promise<string | null>;
};

/** Apps whose search filter key is held in memory; past it the cache starts over. */
const searchFilterKeysMax = 10_000;

export function createBatchCodec(keyring: Keyring, keystore: Keystore): BatchCodec {
  const searchFilterKeys = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  const integrity = (batchId: string, message: string): IntegrityFailure => ({ batchId, message, cause: "integrity" });

  async function openSealed(
    appId: string,
    batchId: string,
    stored: StoredSeal,
  ): Promise<Result<Uint8Array<ArrayBuffer>, IntegrityFailure>> {
    const context = sealContext(appId, batchId, stored);
    if (stored.format === 3 || stored.format === 4) {
      const deviceKey = await keystore.openingKey(appId, stored.keyId);
      if (!deviceKey) {
        const erasure = await keystore.covering(appId, stored.meta.deviceId);
        if (erasure) return err({ batchId, message: `erased by ${erasure.id}`, cause: "erased" });
        return err(integrity(batchId, `sealed under device key "${stored.keyId}", which is not in the key store`));
      }
      if ("unopenable" in deviceKey) return err(integrity(batchId, deviceKey.unopenable));
      const opened = openUnderKeySync(deviceKey, stored, context, stored.format === 4 ? "v4" : "v3");
      return opened
        ? ok(new Uint8Array(opened.buffer, opened.byteOffset, opened.byteLength) as Uint8Array<ArrayBuffer>)
        : err(integrity(batchId, `ciphertext does not authenticate under device key "${stored.keyId}"`));
    }
    const opened = await keyring.open(stored, context);
    if (opened.ok) return opened;
    const { reason, keyId } = opened.error;
    return err(
      integrity(
        batchId,
        reason === "unknown_key"
          ? `sealed under key "${keyId}", which is not in the keyring`
          : `ciphertext does not authenticate under key "${keyId}"`,
      ),
    );
  }

  async function openJson(
    appId: string,
    batchId: string,
    stored: StoredSeal,
  ): Promise<Result<string, IntegrityFailure>> {
    const opened = await openSealed(appId, batchId, stored);
    if (!opened.ok) return opened;
    const split = stored.format === 4 ? splitHeader(opened.value) : { header: null, packed: opened.value };
    if (!split) return err(integrity(batchId, "payload has no header"));
    try {
      const json = zstdDecompressSync(split.packed, { maxOutputLength: storedJsonBytesMax });
      return ok(json.toString("utf8"));
    } catch {
      return err(integrity(batchId, "payload does not decompress"));
    }
  }

  async function open(appId: string, batchId: string, stored: StoredSeal): Promise<Result<Batch, IntegrityFailure>> {
    const json = await openJson(appId, batchId, stored);
    if (!json.ok) return json;
    try {
      const batch = JSON.parse(json.value) as Batch;
      if (batch?.batchId !== batchId || !Array.isArray(batch.logs)) throw new Error("not this batch");
      return ok(batch);
    } catch {
      return err(integrity(batchId, "payload is not this batch's JSON"));
    }
  }

  async function sealJson(
    appId: string,
    batch: Batch,
    json: string,
    issues: boolean,
  ): Promise<StoredSeal & { format: 4; meta: BatchMeta }> {
    const meta = metaOf(batch);
    const header = utf8(JSON.stringify({ device: batch.device, issues } satisfies SealHeader));
    const packed = zstdCompressSync(utf8(json));
    const plaintext = new Uint8Array(4 + header.byteLength + packed.byteLength);
    new DataView(plaintext.buffer).setUint32(0, header.byteLength);
    plaintext.set(header, 4);
    plaintext.set(packed, 4 + header.byteLength);
    const deviceKey = await keystore.sealingKey(appId, meta.deviceId);
    const context = { appId, batchId: batch.batchId, metadata: boundMetadata(meta) };
    const sealed = sealUnderKeySync(deviceKey.key, deviceKey.keyId, plaintext, context, "v4");
    return { ...sealed, format: 4, meta };
  }

  return {
    openJson,

    issueSignature: (appId, signatureText) => keyring.signature([appId, signatureText]),

    searchFilterKey(appId) {
      // Derived (an HMAC) for every batch stored otherwise; apps are few.
      let key = searchFilterKeys.get(appId);
      if (!key) {
        if (searchFilterKeys.size >= searchFilterKeysMax) searchFilterKeys.clear();
        key = keyring.searchFilterKey(appId);
        searchFilterKeys.set(appId, key);
      }
      return key;
    },

    async sealText(appId, deviceId, purpose, text) {
      const deviceKey = await keystore.sealingKey(appId, deviceId);
      return sealUnderKey(deviceKey.key, deviceKey.keyId, utf8(text), { appId, batchId: purpose, metadata: ["text"] });
    },

    async sealSecret(appId, purpose, secret) {
      const sealed = await keyring.seal(utf8(secret), { appId, batchId: purpose });
      const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
      return `${sealed.keyId}.${b64(sealed.wrappedKey)}.${b64(sealed.ciphertext)}`;
    },

    async openSecret(appId, purpose, text) {
      const [keyId, wrapped, ciphertext] = text.split(".");
      if (keyId === undefined || wrapped === undefined || ciphertext === undefined) return null;
      const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64url"));
      const opened = await keyring.open(
        { keyId, wrappedKey: bytes(wrapped), ciphertext: bytes(ciphertext) },
        { appId, batchId: purpose },
      );
      return opened.ok ? new TextDecoder().decode(opened.value) : null;
    },

    async openText(appId, purpose, sealed) {
      const deviceKey = await keystore.openingKey(appId, sealed.keyId);
      if (!deviceKey || "unopenable" in deviceKey) return null;
      const opened = await openUnderKey(deviceKey, sealed, { appId, batchId: purpose, metadata: ["text"] });
      return opened ? new TextDecoder().decode(opened) : null;
    },

    seal: (appId, batch) =>
      sealJson(
        appId,
        batch,
        batchJson(batch),
        batch.logs.some((line) => occurrenceOf(line)),
      ),
    sealJson,
    open,

    async check(appId, batchId, stored) {
      if (stored.format === 4) {
        const opened = await openSealed(appId, batchId, stored);
        if (!opened.ok) return opened;
        const split = splitHeader(opened.value);
        if (!split || split.header.device.id !== stored.meta.deviceId) {
          return err(integrity(batchId, "payload header is not this batch's"));
        }
        if (!split.header.issues) return ok({ device: split.header.device, batch: null });
      }
      const batch = await open(appId, batchId, stored);
      return batch.ok ? ok({ device: batch.value.device, batch: batch.value }) : batch;
    },
  };
}

/** Format 4's plaintext: the header, then the zstd frame; null when it is not laid out so. */
function splitHeader(plaintext: Uint8Array): { header: SealHeader; packed: Uint8Array } | null {
  if (plaintext.byteLength < 4) return null;
  const length = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).getUint32(0);
  if (4 + length > plaintext.byteLength) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(plaintext.subarray(4, 4 + length))) as SealHeader;
    if (typeof header?.device?.id !== "string" || typeof header.issues !== "boolean") return null;
    return { header, packed: plaintext.subarray(4 + length) };
  } catch {
    return null;
  }
}

/** The clear metadata of a batch: its device, the span of its lines and how many of each level. */
export function metaOf(batch: Batch): BatchMeta {
  const counts = Object.fromEntries(levels.map((level) => [`${level}Count`, 0])) as BatchMeta["counts"];
  let firstTs = Number.POSITIVE_INFINITY;
  let lastTs = Number.NEGATIVE_INFINITY;
  for (const line of batch.logs) {
    counts[`${line.level}Count`] += 1;
    if (line.ts < firstTs) firstTs = line.ts;
    if (line.ts > lastTs) lastTs = line.ts;
  }
  return { deviceId: batch.device.id, firstTs, lastTs, counts };
}

function sealContext(appId: string, batchId: string, stored: StoredSeal): SealContext {
  return stored.format === 1 ? { appId, batchId } : { appId, batchId, metadata: boundMetadata(stored.meta) };
}

/** The metadata as sealed: a fixed order, every field. */
function boundMetadata(meta: BatchMeta): (string | number)[] {
  return [meta.deviceId, meta.firstTs, meta.lastTs, ...levels.map((level) => meta.counts[`${level}Count`])];
}
