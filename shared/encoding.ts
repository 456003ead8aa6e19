/** Byte encodings used on the wire and in storage; Web APIs only, so the edge can use them too. */

const textEncoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  // workerd's types widen encode() to ArrayBufferLike; it always returns a fresh ArrayBuffer.
  return textEncoder.encode(text) as Uint8Array<ArrayBuffer>;
}

export function utf8Length(text: string): number {
  return textEncoder.encode(text).byteLength;
}

export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes base64url (or plain base64); returns null when the text is not base64. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  try {
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(length));
}

type Hashing = { update(data: string | Uint8Array): { digest(encoding: "hex"): string } };
/**
 * node:crypto's hashing where the runtime has it (Node; workerd with nodejs_compat), else none (a
 * browser): synchronous, and in Node several times cheaper per call than WebCrypto for the small
 * inputs of request signing, which every call between tiers hashes and signs (measured: SHA-256
 * of 25 KB 58 → 19 µs, HMAC of 200 bytes 47 → 4 µs). Looked up at run time, so browser bundles
 * do not import it.
 */
export const nodeHashing = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.("node:crypto") as
  | { createHash(algorithm: "sha256"): Hashing; createHmac(algorithm: "sha256", key: string): Hashing }
  | undefined;

export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  if (nodeHashing) return nodeHashing.createHash("sha256").update(data).digest("hex");
  const bytes = typeof data === "string" ? utf8(data) : data;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** Compares two strings in time that depends only on their length. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Joins chunks read from a stream into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Reads a stream to its end, but cancels it and throws `tooLarge()` as soon as it passes
 * `bytesMax`: a body is never buffered beyond its cap, whatever its Content-Length said.
 */
export async function readCapped(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  bytesMax: number,
  tooLarge: () => Error,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concatBytes(chunks);
    total += value.byteLength;
    if (total > bytesMax) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
}
