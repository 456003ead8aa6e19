import { describe, expect, it } from "vitest";
import { canonicalJson, parseBatch, parseUpload } from "./batch.ts";
import { ApiError } from "./errors.ts";
import { limits } from "./limits.ts";

const upload = (logs: unknown[]) => ({ batchId: "batch-0001", device: { id: "d1" }, logs });

function failure(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError");
}

describe("the upload wire format", () => {
  it("normalizes timestamps to epoch ms and attrs to sorted keys, so equal batches give equal bytes", () => {
    const a = parseUpload(
      upload([{ ts: "2026-03-01T10:00:00+01:00", level: "info", text: "x", attrs: { b: 1, a: { d: 1, c: 2 } } }]),
    );
    const b = parseUpload(
      upload([{ ts: Date.UTC(2026, 2, 1, 9), level: "info", text: "x", attrs: { a: { c: 2, d: 1 }, b: 1 } }]),
    );
    expect(a.logs[0]?.ts).toBe(Date.UTC(2026, 2, 1, 9));
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(parseBatch(JSON.parse(canonicalJson(a)))).toEqual(a);
  });

  it("names the bad field in a 400", () => {
    const error = failure(() => parseUpload(upload([{ ts: "yesterday", level: "loud", text: 1 }])));
    expect(error.status).toBe(400);
    expect(error.message).toContain("logs[0].ts");
    expect(error.message).toContain("logs[0].level");
    expect(error.message).toContain("logs[0].text");
    expect(failure(() => parseUpload({ ...upload([]), extra: 1 })).message).toContain("extra");
  });

  it("answers 413 past the line count and line size limits", () => {
    const line = { ts: 1_767_225_600_000, level: "info", text: "x" };
    const tooMany = failure(() => parseUpload(upload(Array.from({ length: limits.batchLinesMax + 1 }, () => line))));
    expect(tooMany.status).toBe(413);
    const tooLong = failure(() =>
      parseUpload(upload([{ ...line, text: "é".repeat(limits.lineTextBytesMax / 2 + 1) }])),
    );
    expect([tooLong.status, tooLong.message]).toEqual([413, expect.stringContaining("logs[0].text")]);
  });
});
