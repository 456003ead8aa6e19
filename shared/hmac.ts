/**
 * HMAC-SHA256: node:crypto's where the runtime has it (encoding.ts `nodeHashing`), else WebCrypto's
 * with imported keys cached per secret (importing is the slow part on the hot path).
 */
import { nodeHashing, toHex, utf8 } from "./encoding.ts";

/** WebCrypto's key type, named the same in Node and in workerd. */
export type CryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const keys = new Map<string, Promise<CryptoKey>>();

function importKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

export async function hmacHex(secret: string, message: string): Promise<string> {
  if (nodeHashing) return nodeHashing.createHmac("sha256", secret).update(message).digest("hex");
  const signature = await crypto.subtle.sign("HMAC", await importKey(secret), utf8(message));
  return toHex(new Uint8Array(signature));
}
