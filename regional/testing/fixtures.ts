/** Batches for tests: valid normalized batches with lines at chosen times and levels. */
import type { Batch, Level, LogLine } from "../../shared/batch.ts";
import { randomBytes, toHex } from "../../shared/encoding.ts";

export const baseTs = Date.UTC(2026, 0, 1, 12, 0, 0);

export type LineSpec = Partial<LogLine> & { ts: number };

export function makeBatch(options: {
  batchId?: string;
  deviceId?: string;
  lines: LineSpec[];
  device?: Partial<Batch["device"]>;
}): Batch {
  return {
    batchId: options.batchId ?? `batch-${toHex(randomBytes(8))}`,
    device: { id: options.deviceId ?? "device-a", name: "Test phone", os: "android", ...options.device },
    logs: options.lines.map((line, index) => ({
      level: "info" as Level,
      text: `line ${index} of a test batch`,
      ...line,
    })),
  };
}
