import { describe, expect, it } from "vitest";
import { encodeCursor } from "./cursor.ts";
import { ApiError } from "./errors.ts";
import { limits } from "./limits.ts";
import { logQuerySchema } from "./read.ts";
import { checkBodyDepth, nestedDeeperThan, textProblem, truncateText } from "./storable.ts";

describe("storable text and bounded nesting", () => {
  it("tells NUL and lone surrogates apart from any other text", () => {
    expect(textProblem("plain, ünïcödé, 😀, \u0001")).toBeNull();
    expect(textProblem("a\u0000")).toContain("U+0000");
    for (const lone of ["\ud800", "x\udfff", "\udc00\ud800", "😀".slice(0, 1)]) {
      expect(textProblem(lone)).toContain("lone surrogate");
    }
  });

  it("cuts text to a length without splitting a surrogate pair", () => {
    expect(truncateText("ab😀c", 3)).toBe("ab");
    expect(truncateText("ab😀c", 4)).toBe("ab😀");
    expect(truncateText("abc", 3)).toBe("abc");
    expect(textProblem(truncateText("😀".repeat(200), 255))).toBeNull();
  });

  it("measures nesting without recursion, even a million levels deep", () => {
    const deep = JSON.parse(`${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`);
    expect(nestedDeeperThan(deep, limits.bodyDepthMax)).toBe(true);
    expect(() => checkBodyDepth(deep)).toThrow(ApiError);
    const atLimit = JSON.parse(`${"[".repeat(limits.bodyDepthMax)}${"]".repeat(limits.bodyDepthMax)}`);
    expect(nestedDeeperThan(atLimit, limits.bodyDepthMax)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: [] }] }, 3)).toBe(true);
  });
});

describe("the read query", () => {
  const parse = (input: Record<string, unknown>) => logQuerySchema.safeParse(input);

  it("refuses a NUL in device or q", () => {
    expect(parse({ device: "d\u0000" }).success).toBe(false);
    expect(parse({ q: "\u0000" }).success).toBe(false);
  });

  it("takes only cursors that decode to a position a page can end at", () => {
    const ts = Date.UTC(2026, 0, 1);
    const json = (value: string) => Buffer.from(value).toString("base64url");
    for (const good of [
      encodeCursor({ ts, batchId: "batch-0001", index: 3 }),
      encodeCursor({ ts, batchId: "", index: -1 }),
      encodeCursor({ ts: Date.UTC(2000, 0, 1), batchId: "batch-0001", index: limits.batchLinesMax - 1 }),
    ]) {
      expect(parse({ cursor: good }).success, good).toBe(true);
    }
    for (const bad of [
      json(`[9e15,"batch-0001",0]`),
      json(`[${Date.UTC(2100, 0, 2)},"batch-0001",0]`),
      json(`[${Date.UTC(1999, 0, 1)},"batch-0001",0]`),
      json(`[${ts},"batch\\u0000001",0]`),
      json(`[${ts},"short",0]`),
      json(`[${ts},"batch-0001",${limits.batchLinesMax}]`),
      json(`[${ts},"batch-0001",-2]`),
      "not a cursor",
    ]) {
      const parsed = parse({ cursor: bad });
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(["cursor"]);
    }
  });
});
