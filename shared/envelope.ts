/**
 * Envelope encryption of stored batches (the scheme of Tink's KmsEnvelopeAead).
 *
 * Each batch gets a fresh 256-bit data key; its payload is sealed with AES-256-GCM under a random
 * 96-bit nonce. The data key is itself sealed (wrapped) by the keyring's active key-encryption
 * key. Both seals bind, as additional authenticated data, the app id, the batch id and the key id,
 * plus whatever the caller stores in clear beside the ciphertext (`metadata`: a region binds the
 * batch's device and time span), so a ciphertext moved to another batch, app or device, presented
 * under another key id, or stored with altered clear metadata, does not open. Older keys stay in
 * the keyring to open what they sealed; only the active key seals.
 */
import { z } from "zod";
import { fromBase64Url, randomBytes, utf8 } from "./encoding.ts";
import type { CryptoKey } from "./hmac.ts";
import { err, ok, type Result } from "./result.ts";

const nonceBytes = 12;
const keyBytes = 32;

/**
 * Where a batch belongs, bound into every seal as additional authenticated data. `metadata` is
 * what the caller keeps in clear beside the ciphertext; without it the seal is the first format,
 * which bound only the ids (kept so batches sealed before it still open).
 */
export type SealContext = { appId: string; batchId: string; metadata?: readonly (string | number)[] };

export type Sealed = {
  keyId: string;
  /** nonce (12 bytes) then the AES-GCM ciphertext of the data key, tag included. */
  wrappedKey: Uint8Array<ArrayBuffer>;
  /** nonce (12 bytes) then the AES-GCM ciphertext of the payload, tag included. */
  ciphertext: Uint8Array<ArrayBuffer>;
};

export type OpenFailure = { reason: "unknown_key" | "does_not_authenticate"; keyId: string };

/** `{ "active": "k2", "keys": { "k1": "<base64 of 32 bytes>", "k2": "…" } }` */
export const keyringConfigSchema = z
  .object({
    active: z.string().min(1).max(64),
    keys: z.record(
      z
        .string()
        .min(1)
        .max(64)
        .regex(/^[A-Za-z0-9._-]+$/),
      z.string().refine((text) => fromBase64Url(text)?.byteLength === keyBytes, "expected base64 of 32 bytes"),
    ),
  })
  .refine((config) => config.active in config.keys, { message: "active key id is not in keys", path: ["active"] });
export type KeyringConfig = z.infer<typeof keyringConfigSchema>;

/** A new random key, as base64, for a keyring config. */
export function generateKeyMaterial(): string {
  return btoa(String.fromCharCode(...randomBytes(keyBytes)));
}

export class Keyring {
  readonly activeKeyId: string;
  private readonly keys: ReadonlyMap<string, CryptoKey>;
  private readonly signatureKey: CryptoKey;
  private readonly searchKey: CryptoKey;

  private constructor(
    activeKeyId: string,
    keys: ReadonlyMap<string, CryptoKey>,
    signatureKey: CryptoKey,
    searchKey: CryptoKey,
  ) {
    this.activeKeyId = activeKeyId;
    this.keys = keys;
    this.signatureKey = signatureKey;
    this.searchKey = searchKey;
  }

  static async fromConfig(config: KeyringConfig): Promise<Keyring> {
    const keys = new Map<string, CryptoKey>();
    for (const [id, material] of Object.entries(config.keys)) {
      const raw = fromBase64Url(material) as Uint8Array<ArrayBuffer>;
      keys.set(id, await importAesKey(raw));
    }
    // Issue signatures (shared/issues.ts) must agree across regions and survive a rotation of the
    // active key, so they take an HMAC key derived from the key with the lowest id (every region
    // holds the same keyring). Retiring that key regroups later occurrences under new signatures.
    const [lowest] = Object.keys(config.keys).sort();
    const hkdf = await crypto.subtle.importKey(
      "raw",
      fromBase64Url(config.keys[lowest as string] as string) as Uint8Array<ArrayBuffer>,
      "HKDF",
      false,
      ["deriveKey"],
    );
    const derive = (info: string) =>
      crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: utf8(info) },
        hkdf,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    // Search filters (regional/store/search-filter.ts) must be readable by every region that
    // holds a copy of a batch, for as long as it is kept: the same lowest key, another purpose.
    const signatureKey = await derive("stormlog/issue-signature/v1");
    const searchKey = await derive("stormlog/search-filter/v1");
    return new Keyring(config.active, keys, signatureKey, searchKey);
  }

  /** A keyed hash of `fields` (an app id and what identifies an issue), in lowercase hex. */
  async signature(fields: readonly string[]): Promise<string> {
    const mac = await crypto.subtle.sign("HMAC", this.signatureKey, boundFields("stormlog/issue/v1", fields));
    return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  /**
   * The app's search filter key: 32 bytes, the same in every region, never stored. Raw bytes,
   * since a filter hashes thousands of short inputs per batch, in one call where the runtime allows.
   */
  async searchFilterKey(appId: string): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await crypto.subtle.sign("HMAC", this.searchKey, boundFields("stormlog/search/v1", [appId])));
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async seal(plaintext: Uint8Array<ArrayBuffer>, context: SealContext): Promise<Sealed> {
    const keyId = this.activeKeyId;
    const aad = additionalData(context, keyId);
    const dataKeyRaw = randomBytes(keyBytes);
    const ciphertext = await aesSeal(await importAesKey(dataKeyRaw), plaintext, aad.payload);
    const wrappedKey = await aesSeal(this.keys.get(keyId) as CryptoKey, dataKeyRaw, aad.dataKey);
    dataKeyRaw.fill(0);
    return { keyId, wrappedKey, ciphertext };
  }

  /**
   * Wraps a key (an app key of the key store, regional/keystore/) under the active key-encryption
   * key, bound to `aad`; `unwrap` opens it with the key id it names, null when it does not open.
   */
  async wrap(
    raw: Uint8Array<ArrayBuffer>,
    aad: Uint8Array<ArrayBuffer>,
  ): Promise<{ kekId: string; wrapped: Uint8Array<ArrayBuffer> }> {
    const kekId = this.activeKeyId;
    return { kekId, wrapped: await aesSeal(this.keys.get(kekId) as CryptoKey, raw, aad) };
  }

  async unwrap(
    kekId: string,
    wrapped: Uint8Array<ArrayBuffer>,
    aad: Uint8Array<ArrayBuffer>,
  ): Promise<Uint8Array<ArrayBuffer> | null> {
    const kek = this.keys.get(kekId);
    return kek ? aesOpen(kek, wrapped, aad) : null;
  }

  async open(sealed: Sealed, context: SealContext): Promise<Result<Uint8Array<ArrayBuffer>, OpenFailure>> {
    const kek = this.keys.get(sealed.keyId);
    if (!kek) return err({ reason: "unknown_key", keyId: sealed.keyId });
    const aad = additionalData(context, sealed.keyId);
    const dataKeyRaw = await aesOpen(kek, sealed.wrappedKey, aad.dataKey);
    if (!dataKeyRaw) return err({ reason: "does_not_authenticate", keyId: sealed.keyId });
    const plaintext = await aesOpen(await importAesKey(dataKeyRaw), sealed.ciphertext, aad.payload);
    dataKeyRaw.fill(0);
    if (!plaintext) return err({ reason: "does_not_authenticate", keyId: sealed.keyId });
    return ok(plaintext);
  }
}

/**
 * Seal format 3: the data key wrapped under a caller's key (a device key of the key store) instead
 * of the keyring's, with the same bindings as format 2 under its own version tag, so a format-3
 * seal can never be presented as a format-2 one or the reverse.
 */
export async function sealUnderKey(
  wrappingKey: CryptoKey,
  keyId: string,
  plaintext: Uint8Array<ArrayBuffer>,
  context: SealContext,
): Promise<Sealed> {
  const aad = additionalData(context, keyId, "v3");
  const dataKeyRaw = randomBytes(keyBytes);
  const ciphertext = await aesSeal(await importAesKey(dataKeyRaw), plaintext, aad.payload);
  const wrappedKey = await aesSeal(wrappingKey, dataKeyRaw, aad.dataKey);
  dataKeyRaw.fill(0);
  return { keyId, wrappedKey, ciphertext };
}

/** Opens what `sealUnderKey` sealed; null when it does not authenticate. */
export async function openUnderKey(
  wrappingKey: CryptoKey,
  sealed: Sealed,
  context: SealContext,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const aad = additionalData(context, sealed.keyId, "v3");
  const dataKeyRaw = await aesOpen(wrappingKey, sealed.wrappedKey, aad.dataKey);
  if (!dataKeyRaw) return null;
  const plaintext = await aesOpen(await importAesKey(dataKeyRaw), sealed.ciphertext, aad.payload);
  dataKeyRaw.fill(0);
  return plaintext;
}

/**
 * Length-prefixed fields under a tag: no choice of ids can make two different lists serialize
 * alike. What every seal and key wrap binds as additional authenticated data.
 */
export function boundFields(tag: string, fields: readonly (string | number)[]): Uint8Array<ArrayBuffer> {
  return utf8(
    `${tag}|${fields
      .map(String)
      .map((field) => `${field.length}:${field}`)
      .join("|")}`,
  );
}

export function additionalData(context: SealContext, keyId: string, format?: "v3" | "v4") {
  // Length-prefixed fields: no choice of ids or metadata can make two different contexts
  // serialize alike.
  const version = format ?? (context.metadata === undefined ? "v1" : "v2");
  const fields = [context.appId, context.batchId, keyId, ...(context.metadata ?? []).map(String)]
    .map((field) => `${field.length}:${field}`)
    .join("|");
  return {
    payload: utf8(`stormlog/batch/${version}|${fields}`),
    dataKey: utf8(`stormlog/data-key/${version}|${fields}`),
  };
}

export function importAesKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** AES-256-GCM under a random 96-bit nonce: the nonce (12 bytes), then the ciphertext and its tag. */
export async function aesSeal(
  key: CryptoKey,
  plaintext: Uint8Array<ArrayBuffer>,
  aad: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const nonce = randomBytes(nonceBytes);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, key, plaintext);
  const out = new Uint8Array(nonceBytes + sealed.byteLength);
  out.set(nonce);
  out.set(new Uint8Array(sealed), nonceBytes);
  return out;
}

/** Opens what `aesSeal` sealed; null when it does not authenticate (tampered, another key or AAD). */
export async function aesOpen(
  key: CryptoKey,
  sealed: Uint8Array<ArrayBuffer>,
  aad: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer> | null> {
  if (sealed.byteLength < nonceBytes + 16) return null;
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.subarray(0, nonceBytes), additionalData: aad },
      key,
      sealed.subarray(nonceBytes),
    );
    return new Uint8Array(plaintext);
  } catch {
    return null;
  }
}
