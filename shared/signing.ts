/**
 * Signed calls between Stormlog tiers, one secret per caller role: the edge calling a region,
 * a region calling its peers, and the admin CLI calling a region. A leaked edge secret therefore
 * signs no peer or admin call.
 *
 * The signature is an HMAC-SHA256, under the role's secret, over the role, the audience (the name
 * of the region the call is for), the method, the path with its query, a timestamp, a random
 * nonce, the SHA-256 of the body and, for calls made on behalf of an app key, that key. The body
 * hash travels in a header, so a receiver checks everything from the headers alone, before it
 * reads a byte of the body, and then checks the body against the hash (`verifyBody`). A receiver
 * rejects a call that is unsigned, meant for another region, signed with another secret or as
 * another role, older or newer than the freshness window, or whose nonce it has already seen
 * inside that window (see `NonceCache`).
 */
import { randomBytes, sha256Hex, timingSafeEqual, toHex } from "./encoding.ts";
import { hmacHex } from "./hmac.ts";
import { err, ok, type Result } from "./result.ts";

export const callerRoles = ["edge", "peer", "admin"] as const;
export type CallerRole = (typeof callerRoles)[number];
/** The secret each role signs with; a region holds all three, each caller only its own. */
export type CallerSecrets = Record<CallerRole, string>;

export const signatureHeaders = {
  timestamp: "x-stormlog-timestamp",
  nonce: "x-stormlog-nonce",
  signature: "x-stormlog-signature",
  audience: "x-stormlog-audience",
  contentSha256: "x-stormlog-content-sha256",
  /** The app key an edge read acts for; the region checks it is a live read key of the app. */
  appKey: "x-stormlog-app-key",
} as const;

export const signatureWindowMs = 60_000;

/** Who signs, and for which region: the same call signed for eu-west does not verify in us-east. */
export type Signer = { role: CallerRole; secret: string; audience: string };

/** What a receiver knows without reading the body: its own name, the route's role, the request line. */
export type SignedTarget = { role: CallerRole; audience: string; method: string; pathAndQuery: string };

type Headers = { get(name: string): string | null | undefined };

const sha256Pattern = /^[0-9a-f]{64}$/;

function canonicalString(
  target: SignedTarget,
  fields: { timestamp: string; nonce: string; contentSha256: string; appKey: string },
): string {
  return [
    "stormlog-v2",
    target.role,
    target.audience,
    target.method.toUpperCase(),
    target.pathAndQuery,
    fields.timestamp,
    fields.nonce,
    fields.contentSha256,
    fields.appKey,
  ].join("\n");
}

/** Headers that authenticate one call; sign every attempt anew (a fresh nonce each time). */
export async function signRequest(
  signer: Signer,
  part: { method: string; pathAndQuery: string; body: Uint8Array<ArrayBuffer> | string; appKey?: string },
  nowMs: number = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(nowMs);
  const nonce = toHex(randomBytes(16));
  const contentSha256 = await sha256Hex(part.body);
  const target = { role: signer.role, audience: signer.audience, method: part.method, pathAndQuery: part.pathAndQuery };
  const appKey = part.appKey ?? "";
  const signature = await hmacHex(signer.secret, canonicalString(target, { timestamp, nonce, contentSha256, appKey }));
  return {
    [signatureHeaders.timestamp]: timestamp,
    [signatureHeaders.nonce]: nonce,
    [signatureHeaders.audience]: signer.audience,
    [signatureHeaders.contentSha256]: contentSha256,
    ...(part.appKey === undefined ? {} : { [signatureHeaders.appKey]: part.appKey }),
    [signatureHeaders.signature]: `v2=${signature}`,
  };
}

export type SignatureFailure = "unsigned" | "wrong_audience" | "bad_signature" | "stale" | "replayed";

/**
 * Checks a call from its headers alone: the body is not needed (its hash is signed, see
 * `verifyBody`). The nonce is remembered only once the signature holds, so forged calls cannot
 * fill the cache or burn a real caller's nonce.
 */
export async function verifyRequest(
  secret: string,
  target: SignedTarget,
  headers: Headers,
  nonces: NonceCache,
  nowMs: number = Date.now(),
): Promise<Result<void, SignatureFailure>> {
  const timestamp = headers.get(signatureHeaders.timestamp);
  const nonce = headers.get(signatureHeaders.nonce);
  const signature = headers.get(signatureHeaders.signature);
  const audience = headers.get(signatureHeaders.audience);
  const contentSha256 = headers.get(signatureHeaders.contentSha256);
  if (!timestamp || !nonce || !signature || !audience || !contentSha256 || !sha256Pattern.test(contentSha256)) {
    return err("unsigned");
  }
  if (audience !== target.audience) return err("wrong_audience");
  const appKey = headers.get(signatureHeaders.appKey) ?? "";
  const expected = `v2=${await hmacHex(secret, canonicalString(target, { timestamp, nonce, contentSha256, appKey }))}`;
  if (!timingSafeEqual(expected, signature)) return err("bad_signature");
  const sentMs = Number(timestamp);
  if (!Number.isFinite(sentMs) || Math.abs(nowMs - sentMs) > signatureWindowMs) return err("stale");
  if (!nonces.remember(nonce, sentMs, nowMs)) return err("replayed");
  return ok(undefined);
}

/** After `verifyRequest`: the body read is the one that was signed (a swapped body is a bad signature). */
export async function verifyBody(
  headers: Headers,
  body: Uint8Array<ArrayBuffer>,
): Promise<Result<void, "bad_signature">> {
  const signed = headers.get(signatureHeaders.contentSha256) ?? "";
  return timingSafeEqual(await sha256Hex(body), signed) ? ok(undefined) : err("bad_signature");
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
