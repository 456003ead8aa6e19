/**
 * App keys that the edge verifies by itself, with no database round trip per request.
 *
 * A key is `sl_<kind>_<appId>_<random>_<mac>` where mac is an HMAC, under the cluster's key
 * secret, of everything before it. Only the holder of the secret (the admin CLI) can mint one, so
 * a key that verifies names its app and kind. Revocation is the one thing the edge must look up:
 * regions keep the list of revoked key hashes and the edge caches it (see edge/auth).
 * Regions store keys only as SHA-256 hashes.
 */
import { randomBytes, sha256Hex, timingSafeEqual, toHex } from "./encoding.ts";
import { hmacHex } from "./hmac.ts";

export const keyKinds = ["ingest", "read", "manage"] as const;
export type KeyKind = (typeof keyKinds)[number];

export function isKeyKind(text: string): text is KeyKind {
  return (keyKinds as readonly string[]).includes(text);
}

/**
 * What each kind may do: an ingest key uploads; a read key reads; a manage key reads too, and
 * also changes the app's settings and erases its data. Nothing reads with an ingest key.
 */
export function keyAllows(held: KeyKind, needed: KeyKind): boolean {
  return held === needed || (held === "manage" && needed === "read");
}

export type VerifiedKey = { appId: string; kind: KeyKind };

const keyPattern = /^sl_(ingest|read|manage)_([a-z0-9]{16})_([0-9a-f]{32})_([0-9a-f]{32})$/;
const macHexLength = 32;

export function newAppId(): string {
  return toHex(randomBytes(8));
}

export async function mintKey(secret: string, appId: string, kind: KeyKind): Promise<string> {
  const body = `sl_${kind}_${appId}_${toHex(randomBytes(16))}`;
  return `${body}_${(await hmacHex(secret, body)).slice(0, macHexLength)}`;
}

/** The app and kind a key names, or null when it was not minted with this secret. */
export async function verifyKey(secret: string, key: string): Promise<VerifiedKey | null> {
  const match = keyPattern.exec(key);
  if (!match) return null;
  const body = key.slice(0, key.lastIndexOf("_"));
  const expected = (await hmacHex(secret, body)).slice(0, macHexLength);
  if (!timingSafeEqual(expected, match[4] as string)) return null;
  return { kind: match[1] as KeyKind, appId: match[2] as string };
}

/** What regions store and revoke: never the key itself. */
export function keyHash(key: string): Promise<string> {
  return sha256Hex(key);
}

/** A short, safe-to-print label for a key (kind, app and the start of its random part). */
export function keyLabel(key: string): string {
  const match = keyPattern.exec(key);
  return match ? `sl_${match[1]}_${match[2]}_${(match[3] as string).slice(0, 6)}…` : "(not a Stormlog key)";
}
