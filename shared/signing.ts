/**
 * Signed calls between Stormlog tiers (edge to region, and region to region).
 *
 * The signature is an HMAC-SHA256, under a secret the tiers share, over the method, the path with
 * its query, a timestamp, a random nonce and the SHA-256 of the body. A receiver rejects a call
 * that is unsigned, signed with another secret, older or newer than the freshness window, or
 * whose nonce it has already seen inside that window (see `NonceCache`).
 */
import { randomBytes, sha256Hex, timingSafeEqual, toHex } from "./encoding.ts";
import { hmacHex } from "./hmac.ts";
import { err, ok, type Result } from "./result.ts";

export const signatureHeaders = {
  timestamp: "x-stormlog-timestamp",
  nonce: "x-stormlog-nonce",
  signature: "x-stormlog-signature",
} as const;

export const signatureWindowMs = 60_000;

type SignedPart = { method: string; pathAndQuery: string; body: Uint8Array<ArrayBuffer> | string };

async function canonicalString(part: SignedPart, timestamp: string, nonce: string): Promise<string> {
  const bodyHash = await sha256Hex(part.body);
  return ["stormlog-v1", part.method.toUpperCase(), part.pathAndQuery, timestamp, nonce, bodyHash].join("\n");
}

/** Headers that authenticate one call; sign every attempt anew (a fresh nonce each time). */
export async function signRequest(
  secret: string,
  part: SignedPart,
  nowMs: number = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(nowMs);
  const nonce = toHex(randomBytes(16));
  const signature = await hmacHex(secret, await canonicalString(part, timestamp, nonce));
  return {
    [signatureHeaders.timestamp]: timestamp,
    [signatureHeaders.nonce]: nonce,
    [signatureHeaders.signature]: `v1=${signature}`,
  };
}

export type SignatureFailure = "unsigned" | "bad_signature" | "stale" | "replayed";

export async function verifyRequest(
  secret: string,
  part: SignedPart,
  headers: { get(name: string): string | null | undefined },
  nonces: NonceCache,
  nowMs: number = Date.now(),
): Promise<Result<void, SignatureFailure>> {
  const timestamp = headers.get(signatureHeaders.timestamp);
  const nonce = headers.get(signatureHeaders.nonce);
  const signature = headers.get(signatureHeaders.signature);
  if (!timestamp || !nonce || !signature) return err("unsigned");
  const expected = `v1=${await hmacHex(secret, await canonicalString(part, timestamp, nonce))}`;
  if (!timingSafeEqual(expected, signature)) return err("bad_signature");
  const sentMs = Number(timestamp);
  if (!Number.isFinite(sentMs) || Math.abs(nowMs - sentMs) > signatureWindowMs) return err("stale");
  if (!nonces.remember(nonce, sentMs, nowMs)) return err("replayed");
  return ok(undefined);
}

/**
 * Nonces seen inside the freshness window. A call older than the window is rejected as stale, so
 * the cache forgets nonces once they age out and stays bounded by the call rate.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  /** Records a nonce; false when it was already seen (a replay). */
  remember(nonce: string, sentMs: number, nowMs: number): boolean {
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, sentMs);
    if (this.seen.size % 1024 === 0) this.forgetOlderThan(nowMs - signatureWindowMs);
    return true;
  }

  private forgetOlderThan(cutoffMs: number): void {
    for (const [nonce, sentMs] of this.seen) if (sentMs < cutoffMs) this.seen.delete(nonce);
  }
}
