/**
 * The spool: where an upload goes when no region can take it, so the SDK gets a 202 and the batch
 * is delivered later (consumer.ts) instead of being refused. The batch travels sealed (seal.ts) as
 * a Cloudflare Queue message (`SPOOL`); one too large for a message (128 KB) is written to R2
 * (`SPOOL_BLOBS`) and the message carries its key. The message also carries the hash of the app
 * key that uploaded it (never the key), so the consumer can refuse a key revoked since. A
 * deployment without these bindings does not spool: the edge answers 503 with Retry-After and the
 * SDK keeps the batch, as before.
 */
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../../shared/encoding.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import type { EdgeBindings } from "../config.ts";
import { type SpoolSealContext, sealSpooled } from "./seal.ts";

/** One spooled batch: its payload `sealed` here (base64url), or in R2 under `blobKey`. */
export const spoolMessageSchema = z
  .object({
    v: z.literal(2),
    appId: z.string().min(1),
    batchId: z.string().min(1),
    /** SHA-256 (hex) of the app key that uploaded the batch. */
    keyHash: z.string().regex(/^[0-9a-f]{64}$/),
    requestId: z.string(),
    spooledAt: z.number(),
    sealed: z.string().optional(),
    blobKey: z.string().optional(),
  })
  .refine((message) => (message.sealed === undefined) !== (message.blobKey === undefined), {
    message: "expected exactly one of sealed and blobKey",
  });
export type SpoolMessage = z.infer<typeof spoolMessageSchema>;

export type SpoolFailure = { kind: "not_spooled"; retryable: true; message: string };

/** Cloudflare Queues' limit on one message. */
export const queueMessageBytesMax = 128 * 1024;
/** Room left for the message's other fields and its serialization. */
const envelopeBytes = 1024;

export type SpoolUpload = SpoolSealContext & { requestId: string; body: string };

export async function spoolUpload(
  bindings: EdgeBindings,
  spoolSecret: string,
  batch: SpoolUpload,
): Promise<Result<{ blobKey: string | null }, SpoolFailure>> {
  const { spool, spoolBlobs } = bindings;
  if (!spool) return err(notSpooled("no spool is configured"));
  const { appId, batchId, keyHash, requestId } = batch;
  const base = { v: 2 as const, appId, batchId, keyHash, requestId };
  try {
    const sealed = await sealSpooled(spoolSecret, { appId, batchId, keyHash }, batch.body);
    const inline = toBase64Url(sealed);
    // JSON messages: base64url is one byte per character.
    if (inline.length + envelopeBytes <= queueMessageBytesMax) {
      await spool.send({ ...base, spooledAt: Date.now(), sealed: inline } satisfies SpoolMessage, {
        contentType: "json",
      });
      return ok({ blobKey: null });
    }
    if (!spoolBlobs)
      return err(notSpooled("the batch is too large for a queue message and no spool bucket is configured"));
    const blobKey = spoolBlobKey(appId, batchId);
    await spoolBlobs.put(blobKey, sealed, { httpMetadata: { contentType: "application/octet-stream" } });
    await spool.send({ ...base, spooledAt: Date.now(), blobKey } satisfies SpoolMessage, { contentType: "json" });
    return ok({ blobKey });
  } catch (error) {
    return err(notSpooled(`spool write failed: ${String(error)}`));
  }
}

/** A message's sealed payload; its blob is gone once a delivery succeeded (and deleted it). */
export type SpooledPayload =
  | { kind: "sealed"; sealed: Uint8Array<ArrayBuffer> }
  | { kind: "blob_missing" }
  | { kind: "unreadable"; message: string };

export async function spooledPayload(bindings: EdgeBindings, message: SpoolMessage): Promise<SpooledPayload> {
  if (message.sealed !== undefined) {
    const sealed = fromBase64Url(message.sealed);
    return sealed ? { kind: "sealed", sealed } : { kind: "unreadable", message: "sealed: not base64" };
  }
  if (!bindings.spoolBlobs) return { kind: "unreadable", message: "the batch is in R2 and no spool bucket is bound" };
  const object = await bindings.spoolBlobs.get(message.blobKey as string);
  return object ? { kind: "sealed", sealed: new Uint8Array(await object.arrayBuffer()) } : { kind: "blob_missing" };
}

/** One key per batch: spooling the same batch twice overwrites the same bytes. */
export function spoolBlobKey(appId: string, batchId: string): string {
  return `spool/${appId}/${batchId}.sealed`;
}

function notSpooled(message: string): SpoolFailure {
  return { kind: "not_spooled", retryable: true, message };
}
