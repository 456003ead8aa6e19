/**
 * The spool: where an upload goes when no region can take it, so the SDK gets a 202 and the batch
 * is delivered later (consumer.ts) instead of being refused. The batch travels as a Cloudflare
 * Queue message (`SPOOL`); one too large for a message (128 KB) is written to R2 (`SPOOL_BLOBS`)
 * and the message carries its key. A deployment without these bindings does not spool: the edge
 * answers 503 with Retry-After and the SDK keeps the batch, as before.
 */
import { err, ok, type Result } from "../../shared/result.ts";
import type { EdgeBindings } from "../config.ts";

/** One spooled batch. `body` is the canonical JSON the region would have received. */
export type SpoolMessage = {
  v: 1;
  appId: string;
  batchId: string;
  requestId: string;
  spooledAt: number;
  body?: string;
  blobKey?: string;
};

export type SpoolFailure = { kind: "not_spooled"; retryable: true; message: string };

/** Cloudflare Queues' limit on one message. */
export const queueMessageBytesMax = 128 * 1024;
/** Room left for the message's other fields and its serialization. */
const envelopeBytes = 1024;

export async function spoolUpload(
  bindings: EdgeBindings,
  batch: Omit<SpoolMessage, "v" | "spooledAt" | "body" | "blobKey"> & { body: string },
): Promise<Result<{ blobKey: string | null }, SpoolFailure>> {
  const { spool, spoolBlobs } = bindings;
  if (!spool) return err(notSpooled("no spool is configured"));
  const base = { v: 1 as const, appId: batch.appId, batchId: batch.batchId, requestId: batch.requestId };
  // Queues serialize with V8's structured clone: a string costs up to 2 bytes per UTF-16 unit.
  const fits = batch.body.length * 2 + envelopeBytes <= queueMessageBytesMax;
  try {
    if (fits) {
      await spool.send({ ...base, spooledAt: Date.now(), body: batch.body } satisfies SpoolMessage);
      return ok({ blobKey: null });
    }
    if (!spoolBlobs)
      return err(notSpooled("the batch is too large for a queue message and no spool bucket is configured"));
    const blobKey = spoolBlobKey(batch.appId, batch.batchId);
    await spoolBlobs.put(blobKey, batch.body, { httpMetadata: { contentType: "application/json" } });
    await spool.send({ ...base, spooledAt: Date.now(), blobKey } satisfies SpoolMessage);
    return ok({ blobKey });
  } catch (error) {
    return err(notSpooled(`spool write failed: ${String(error)}`));
  }
}

/** One key per batch: spooling the same batch twice overwrites the same bytes. */
export function spoolBlobKey(appId: string, batchId: string): string {
  return `spool/${appId}/${batchId}.json`;
}

function notSpooled(message: string): SpoolFailure {
  return { kind: "not_spooled", retryable: true, message };
}
