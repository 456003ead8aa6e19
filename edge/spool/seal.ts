/**
 * Spooled batches are sealed before they enter the Queue or R2, so nothing there is readable:
 * AES-256-GCM (shared/envelope.ts's `aesSeal`, a random 96-bit nonce per batch) under a key derived
 * with HKDF-SHA256 from SPOOL_SECRET, a secret only the edge holds. The additional authenticated
 * data binds the app id, the batch id and the hash of the key that uploaded it, so a sealed payload
 * moved to another message (another app, batch, or a key that is not revoked) does not open.
 *
 * @example
 *   const sealed = await sealSpooled(secret, { appId, batchId, keyHash }, body);
 *   const opened = await openSpooled(secret, { appId, batchId, keyHash }, sealed); // body, or null
 */
import type { BatchKey } from "../../shared/batch.ts";
import { utf8 } from "../../shared/encoding.ts";
import { aesOpen, aesSeal } from "../../shared/envelope.ts";
import type { CryptoKey } from "../../shared/hmac.ts";

/** What a spooled batch belongs to; bound into its seal. */
export type SpoolSealContext = BatchKey & { keyHash: string };

const purpose = "stormlog/spool/v1";

/** Derived keys per secret: derivation is the slow part, and an isolate sees one secret. */
const keys = new Map<string, Promise<CryptoKey>>();

function spoolKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", utf8(secret), "HKDF", false, ["deriveKey"])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8(purpose) },
          material,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    keys.set(secret, key);
  }
  return key;
}

function additionalData(context: SpoolSealContext): Uint8Array<ArrayBuffer> {
  // Length-prefixed fields: no choice of ids can make two different contexts serialize alike.
  const fields = [context.appId, context.batchId, context.keyHash].map((field) => `${field.length}:${field}`);
  return utf8(`${purpose}|${fields.join("|")}`);
}

export async function sealSpooled(
  secret: string,
  context: SpoolSealContext,
  body: string,
): Promise<Uint8Array<ArrayBuffer>> {
  return aesSeal(await spoolKey(secret), utf8(body), additionalData(context));
}

/** The batch's JSON text, or null when the seal does not open (tampered, moved, another secret). */
export async function openSpooled(
  secret: string,
  context: SpoolSealContext,
  sealed: Uint8Array<ArrayBuffer>,
): Promise<string | null> {
  const opened = await aesOpen(await spoolKey(secret), sealed, additionalData(context));
  return opened === null ? null : new TextDecoder().decode(opened);
}
