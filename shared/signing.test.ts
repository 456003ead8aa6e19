import { describe, expect, it } from "vitest";
import { utf8 } from "./encoding.ts";
import {
  type CallerRole,
  NonceCache,
  type SignedTarget,
  signatureHeaders,
  signatureWindowMs,
  signRequest,
  verifyBody,
  verifyRequest,
} from "./signing.ts";

const secret = "s".repeat(32);
const part = { method: "POST", pathAndQuery: "/internal/v1/apps/x/batches?a=1", body: '{"a":1}' };
const signer = { role: "edge" as CallerRole, secret, audience: "eu-west" };
const nowMs = Date.UTC(2026, 0, 1);

/** What a region does: the headers first, then the body it read against the signed hash. */
async function verify(
  headers: Record<string, string>,
  overrides: Partial<typeof part & SignedTarget> = {},
  at = nowMs,
  nonces = new NonceCache(),
) {
  const { body, ...target } = { ...part, role: signer.role, audience: signer.audience, ...overrides };
  const checked = await verifyRequest(secret, target, new Headers(headers), nonces, at);
  if (!checked.ok) return checked;
  return verifyBody(new Headers(headers), utf8(body));
}

describe("signed calls between tiers", () => {
  it("verify once, and a replay of the same call is refused", async () => {
    const headers = await signRequest(signer, part, nowMs);
    const nonces = new NonceCache();
    expect(await verify(headers, {}, nowMs, nonces)).toEqual({ ok: true, value: undefined });
    expect(await verify(headers, {}, nowMs + 10, nonces)).toEqual({ ok: false, error: "replayed" });
  });

  it("are refused when unsigned, tampered, stale or signed with another secret", async () => {
    const headers = await signRequest(signer, part, nowMs);
    expect(await verify({})).toEqual({ ok: false, error: "unsigned" });
    expect(await verify(headers, { body: '{"a":2}' })).toEqual({ ok: false, error: "bad_signature" });
    expect(await verify(headers, { pathAndQuery: "/internal/v1/apps/y/batches?a=1" })).toEqual({
      ok: false,
      error: "bad_signature",
    });
    expect(await verify(headers, { method: "PUT" })).toEqual({ ok: false, error: "bad_signature" });
    expect(await verify({ ...headers, [signatureHeaders.timestamp]: String(nowMs + 1) })).toEqual({
      ok: false,
      error: "bad_signature",
    });
    expect(await verify(headers, {}, nowMs + signatureWindowMs + 1)).toEqual({ ok: false, error: "stale" });
    expect(await verify(headers, {}, nowMs - signatureWindowMs - 1)).toEqual({ ok: false, error: "stale" });
    const foreign = await signRequest({ ...signer, secret: "o".repeat(32) }, part, nowMs);
    expect(await verify(foreign)).toEqual({ ok: false, error: "bad_signature" });
  });

  it("name their audience: a call signed for one region is refused by another", async () => {
    const headers = await signRequest(signer, part, nowMs);
    expect(await verify(headers, { audience: "us-east" })).toEqual({ ok: false, error: "wrong_audience" });
    // Relabelling the audience header does not help: it is signed.
    const relabelled = { ...headers, [signatureHeaders.audience]: "us-east" };
    expect(await verify(relabelled, { audience: "us-east" })).toEqual({ ok: false, error: "bad_signature" });
  });

  it("name their role: the same secret signing as another role does not verify", async () => {
    const asPeer = await signRequest({ ...signer, role: "peer" }, part, nowMs);
    expect(await verify(asPeer)).toEqual({ ok: false, error: "bad_signature" });
    expect(await verify(asPeer, { role: "peer" })).toEqual({ ok: true, value: undefined });
  });

  it("cover the app key a read carries", async () => {
    const headers = await signRequest(signer, { ...part, appKey: "sl_read_key" }, nowMs);
    expect(headers[signatureHeaders.appKey]).toBe("sl_read_key");
    expect(await verify(headers)).toEqual({ ok: true, value: undefined });
    expect(await verify({ ...headers, [signatureHeaders.appKey]: "sl_read_other" })).toEqual({
      ok: false,
      error: "bad_signature",
    });
    const { [signatureHeaders.appKey]: _dropped, ...withoutKey } = headers;
    expect(await verify(withoutKey)).toEqual({ ok: false, error: "bad_signature" });
  });

  it("verify from the headers alone; the body is checked afterwards against its signed hash", async () => {
    const headers = await signRequest(signer, part, nowMs);
    const target = {
      role: signer.role,
      audience: signer.audience,
      method: part.method,
      pathAndQuery: part.pathAndQuery,
    };
    expect(await verifyRequest(secret, target, new Headers(headers), new NonceCache(), nowMs)).toEqual({
      ok: true,
      value: undefined,
    });
    expect(await verifyBody(new Headers(headers), utf8(part.body))).toEqual({ ok: true, value: undefined });
    expect(await verifyBody(new Headers(headers), utf8('{"a":2}'))).toEqual({ ok: false, error: "bad_signature" });
    // A hash header that is not a SHA-256 is no signature at all.
    const mangled = { ...headers, [signatureHeaders.contentSha256]: "not-a-hash" };
    expect(await verifyRequest(secret, target, new Headers(mangled), new NonceCache(), nowMs)).toEqual({
      ok: false,
      error: "unsigned",
    });
  });

  it("burn no nonce for a forged call", async () => {
    const headers = await signRequest(signer, part, nowMs);
    const nonces = new NonceCache();
    const forged = { ...headers, [signatureHeaders.signature]: `v2=${"0".repeat(64)}` };
    expect(await verify(forged, {}, nowMs, nonces)).toEqual({ ok: false, error: "bad_signature" });
    expect(await verify(headers, {}, nowMs, nonces)).toEqual({ ok: true, value: undefined });
  });
});
