/**
 * How an adapter's lines (OTLP, Bugfender) become batches, within the bounds every batch and every
 * request must keep: a device every region can store (a request naming one it cannot is a 400
 * naming the field), at most `limits.batchLinesMax` lines and `limits.batchSpanMsMax` of time per
 * batch, and at most `limits.adapterLinesMax` lines and `limits.adapterBatchesMax` batches per
 * request (413 past them), so one small request cannot fan out into hundreds of stored batches.
 */
import { type Batch, type Device, describeIssues, deviceSchema } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { limits } from "../../shared/limits.ts";

/** The device, checked against the batch contract; `where` names it in the 400 (e.g. `resourceLogs[2]`). */
export function checkDevice(where: string, device: Device): Device {
  const parsed = deviceSchema.safeParse(device);
  if (!parsed.success) throw new ApiError("INVALID_BODY", `${where}: device.${describeIssues(parsed.error, "device")}`);
  return parsed.data;
}

/** 413 when one request carries more lines than an adapter takes at once. */
export function checkRequestLines(what: string, count: number): void {
  if (count > limits.adapterLinesMax) {
    throw new ApiError("PAYLOAD_TOO_LARGE", `${what}: ${count} in one request, at most ${limits.adapterLinesMax}`);
  }
}

/** 413 when one request would become more batches than an adapter makes at once. */
export function checkRequestBatches(count: number): void {
  if (count > limits.adapterBatchesMax) {
    throw new ApiError(
      "PAYLOAD_TOO_LARGE",
      `body: would be ${count} batches (one per device and per ${limits.batchSpanMsMax / 3_600_000} h of lines, at most ${limits.batchLinesMax} lines each), at most ${limits.adapterBatchesMax} per request`,
    );
  }
}

/**
 * One device's lines cut into batch-sized runs: in time order (stable, so the same request gives
 * the same runs and so the same content-derived ids), a new run whenever one is full or would
 * span more than `limits.batchSpanMsMax`.
 */
export function batchRuns(lines: Batch["logs"]): Batch["logs"][] {
  const sorted = [...lines].sort((a, b) => a.ts - b.ts);
  const runs: Batch["logs"][] = [];
  let run: Batch["logs"] = [];
  for (const line of sorted) {
    const first = run[0];
    if (first && (run.length >= limits.batchLinesMax || line.ts - first.ts > limits.batchSpanMsMax)) {
      runs.push(run);
      run = [];
    }
    run.push(line);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
