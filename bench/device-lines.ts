/**
 * The console benchmarks' data: one phone's lines, a line every half second, in batches of 100,
 * with the mix a real app sends (mostly info, some debug and warnings, an error now and then,
 * two tags, small attrs, a dozen words of text).
 */
import { type Batch, parseBatch } from "../shared/batch.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";

export const linesPerBatch = 100;
export const lineEveryMs = 500;
export const baseMs = Date.UTC(2026, 4, 1);
export const benchDevice = {
  id: "bench-console-device",
  name: "Bench phone",
  model: "Pixel 9",
  os: "Android",
  osVersion: "15",
  appVersion: "4.2.0",
};
const words = "user tapped checkout cart payment token refreshed request failed retry cache miss screen loaded".split(
  " ",
);

/** Batch number `b` of the device: lines `b * 100` to `b * 100 + 99`. */
export function deviceBatch(b: number): Batch {
  return parseBatch({
    batchId: `bench-${String(b).padStart(6, "0")}-${toHex(randomBytes(4))}`,
    device: benchDevice,
    logs: Array.from({ length: linesPerBatch }, (_, i) => {
      const n = b * linesPerBatch + i;
      return {
        ts: baseMs + n * lineEveryMs,
        level: n % 97 === 0 ? "error" : n % 13 === 0 ? "warn" : n % 5 === 0 ? "debug" : "info",
        tag: n % 7 === 0 ? "Network" : "CheckoutFlow",
        text: Array.from({ length: 12 }, (_, w) => words[(n * 7 + w * 3) % words.length]).join(" "),
        attrs: { attempt: n % 3, screen: "cart" },
      };
    }),
  });
}
