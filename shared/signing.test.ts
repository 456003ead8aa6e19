import { describe, expect, it } from "vitest";
import { NonceCache, signatureHeaders, signatureWindowMs, signRequest, verifyRequest } from "./signing.ts";

const secret = "s".repeat(32);
const part = { method: "POST", pathAndQuery: "/internal/v1/apps/x/batches?a=1", body: '{"a":1}' };
const nowMs = Date.UTC(2026, 0, 1);

async function verify(
  headers: Record<string, string>,
  overrides: Partial<typeof part> = {},
  at = nowMs,
  nonces = new NonceCache(),
) {
  return verifyRequest(secret, { ...part, ...overrides }, new Headers(headers), nonces, at);
}

describe("signed calls between tiers", () => {
  it("verify once, and a replay of the same call is refused", async () => {
    const headers = await signRequest(secret, part, nowMs);
    const nonces = new NonceCache();
    expect(await verify(headers, {}, nowMs, nonces)).toEqual({ ok: true, value: undefined });
    expect(await verify(headers, {}, nowMs + 10, nonces)).toEqual({ ok: false, error: "replayed" });
  });

  it("are refused when unsigned, tampered, stale or signed with another secret", async () => {
    const headers = await signRequest(secret, part, nowMs);
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
    const foreign = await signRequest("o".repeat(32), part, nowMs);
    expect(await verify(foreign)).toEqual({ ok: false, error: "bad_signature" });
  });
});
