// Content-derived batch ids (the OTLP and Bugfender adapters'): the same content always gives the
// same id, so a resent request is stored once; but the id is keyed, so whoever reads the database
// cannot confirm a guess about a line by hashing it.
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/encoding.ts";
import { contentBatchId } from "./deliver.ts";

const secret = "edge-tests-key-secret-0123456789abcdef";
const content = { device: { id: "pod-7" }, logs: [{ ts: 1780315200000, level: "info", text: "card 4111 1111" }] };

describe("content batch ids", () => {
  it("are the same for the same content and app, and differ for another app or content", async () => {
    const id = await contentBatchId(secret, "otlp", "app-1", content);
    expect(id).toMatch(/^otlp-[0-9a-f]{40}$/);
    expect(await contentBatchId(secret, "otlp", "app-1", structuredClone(content))).toBe(id);
    expect(await contentBatchId(secret, "otlp", "app-2", content)).not.toBe(id);
    expect(await contentBatchId(secret, "otlp", "app-1", { ...content, logs: [] })).not.toBe(id);
  });

  it("cannot be computed from the content without the secret", async () => {
    const id = await contentBatchId(secret, "bf", "app-1", content);
    // The former scheme: a plain SHA-256 of the app id and the content.
    const plain = (await sha256Hex(`app-1\n${JSON.stringify(content)}`)).slice(0, 40);
    expect(id).not.toBe(`bf-${plain}`);
    expect(await contentBatchId("another-secret-0123456789abcdef", "bf", "app-1", content)).not.toBe(id);
  });
});
