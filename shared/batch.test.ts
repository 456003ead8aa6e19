import { describe, expect, it } from "vitest";
import { batchJson, parseBatch, parseUpload } from "./batch.ts";
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
    expect(batchJson(a)).toBe(batchJson(b));
    expect(parseBatch(JSON.parse(batchJson(a)))).toEqual(a);
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

describe("what storage can hold", () => {
  const line = { ts: 1_767_225_600_000, level: "info", text: "x" };

  it("refuses NUL and lone surrogates in every text field, naming it, and keeps surrogate pairs", () => {
    for (const bad of ["a\u0000b", "a\ud800", "\udc00b", "\udc00\ud800"]) {
      const cases: [unknown, string][] = [
        [{ ...upload([line]), device: { id: bad } }, "device.id"],
        [{ ...upload([line]), device: { id: "d1", locale: bad } }, "device.locale"],
        [upload([{ ...line, text: bad }]), "logs[0].text"],
        [upload([{ ...line, tag: bad }]), "logs[0].tag"],
        [upload([{ ...line, attrs: { [bad]: 1 } }]), "logs[0].attrs"],
        [upload([{ ...line, attrs: { k: [{ deeper: bad }] } }]), "logs[0].attrs.k[0].deeper"],
      ];
      for (const [body, field] of cases) {
        const error = failure(() => parseUpload(body));
        expect([error.status, error.message]).toEqual([400, expect.stringContaining(field)]);
        expect(() => parseBatch(body)).toThrow(ApiError);
      }
    }
    const emoji = parseUpload(upload([{ ...line, text: "😀", attrs: { "😀": "😀" } }]));
    expect(emoji.logs[0]?.text).toBe("😀");
  });

  it("refuses attrs past the documented depth and numbers that are not finite, without recursing", () => {
    /** `count` arrays, one inside the other, around a number. */
    const arrays = (count: number) => {
      let value: unknown = 1;
      for (let level = 0; level < count; level++) value = [value];
      return value;
    };
    // attrs is level 1, so its values may hold attrsDepthMax - 1 more levels of arrays or objects.
    expect(() => parseUpload(upload([{ ...line, attrs: { k: arrays(limits.attrsDepthMax - 1) } }]))).not.toThrow();
    const tooDeep = failure(() => parseUpload(upload([{ ...line, attrs: { k: arrays(limits.attrsDepthMax) } }])));
    expect(tooDeep.message).toContain(`nested deeper than ${limits.attrsDepthMax} levels`);
    expect(failure(() => parseUpload(upload([{ ...line, attrs: { k: arrays(100_000) } }]))).status).toBe(400);
    const infinite = failure(() => parseUpload(upload([{ ...line, attrs: { n: [Number.POSITIVE_INFINITY] } }])));
    expect(infinite.message).toContain("logs[0].attrs.n[0]: expected a finite number");
    expect(failure(() => parseUpload(upload([{ ...line, ts: Number.POSITIVE_INFINITY }]))).status).toBe(400);
  });

  it("refuses a batch whose lines span more than batchSpanMsMax, and takes exactly that span", () => {
    const at = (ts: number) => ({ ...line, ts });
    expect(() => parseUpload(upload([at(line.ts), at(line.ts + limits.batchSpanMsMax)]))).not.toThrow();
    const tooLong = failure(() => parseUpload(upload([at(line.ts), at(line.ts + limits.batchSpanMsMax + 1)])));
    expect([tooLong.status, tooLong.message]).toEqual([400, expect.stringContaining("logs: lines span 24 h")]);
    const span = upload([at(Date.UTC(2000, 0, 1)), at(Date.UTC(2099, 11, 31))]);
    expect(failure(() => parseBatch(span)).status).toBe(400);
  });
});
