/**
 * Bugfender session ids that carry their device. The Bugfender protocol registers a session
 * (`POST /session`, with the device's info) and then sends logs and issues with only the session
 * id; Stormlog stores every line with its device, and regions are its only store. Rather than a
 * database round trip per request, the session id the edge hands out is the device info itself,
 * signed: `<base64url JSON {a: appId, s: session uid, d: device}>.<HMAC>` under KEY_SECRET, with a
 * purpose prefix so it can never pass for an app key. Any isolate can read it back; nobody can
 * forge one, or move one to another app.
 */
import type { Device } from "../../shared/batch.ts";
import { fromBase64Url, timingSafeEqual, toBase64Url, utf8 } from "../../shared/encoding.ts";
import { hmacHex } from "../../shared/hmac.ts";

export type Session = { uid: string; device: Device };

const purpose = "stormlog-bugfender-session-v1";
const macHexLength = 32;

export async function mintSessionId(secret: string, appId: string, session: Session): Promise<string> {
  const payload = toBase64Url(utf8(JSON.stringify({ a: appId, s: session.uid, d: session.device })));
  return `${payload}.${await mac(secret, payload)}`;
}

/** The session an id names, or null when it is forged, damaged, or from another app. */
export async function openSessionId(secret: string, appId: string, id: unknown): Promise<Session | null> {
  if (typeof id !== "string") return null;
  const dot = id.lastIndexOf(".");
  if (dot <= 0) return null;
  const payload = id.slice(0, dot);
  if (!timingSafeEqual(await mac(secret, payload), id.slice(dot + 1))) return null;
  const bytes = fromBase64Url(payload);
  if (!bytes) return null;
  try {
    const decoded = JSON.parse(new TextDecoder().decode(bytes)) as { a: string; s: string; d: Device };
    return decoded.a === appId ? { uid: decoded.s, device: decoded.d } : null;
  } catch {
    return null;
  }
}

async function mac(secret: string, payload: string): Promise<string> {
  return (await hmacHex(secret, `${purpose}\n${payload}`)).slice(0, macHexLength);
}
