/**
 * How a batch is stored: canonical JSON, compressed with zstd, sealed by the keyring with the
 * app and batch ids bound in (shared/envelope.ts). Reading reverses it. A stored batch that does
 * not open, decompress or parse is an integrity failure returned as a value, so one bad row is
 * reported by id while the rest of a read goes on.
 */
import { promisify } from "node:util";
import { zstdCompress, zstdDecompress } from "node:zlib";
import { type Batch, canonicalJson } from "../../shared/batch.ts";
import { utf8 } from "../../shared/encoding.ts";
import type { Keyring, Sealed } from "../../shared/envelope.ts";
import { limits } from "../../shared/limits.ts";
import { err, ok, type Result } from "../../shared/result.ts";

const compress = promisify(zstdCompress);
const decompress = promisify(zstdDecompress);

/** Generous bound on what one stored batch may inflate to (it was checked against the limits). */
const storedJsonBytesMax = 4 * limits.inflatedBytesMax;

export type IntegrityFailure = { batchId: string; message: string };

export type BatchCodec = {
  seal(appId: string, batch: Batch): Promise<Sealed>;
  /** The stored batch, or why it cannot be trusted. */
  open(appId: string, batchId: string, sealed: Sealed): Promise<Result<Batch, IntegrityFailure>>;
  /** The stored canonical JSON, to compare with a batch sent again under the same id. */
  openJson(appId: string, batchId: string, sealed: Sealed): Promise<Result<string, IntegrityFailure>>;
};

export function createBatchCodec(keyring: Keyring): BatchCodec {
  async function openJson(appId: string, batchId: string, sealed: Sealed): Promise<Result<string, IntegrityFailure>> {
    const opened = await keyring.open(sealed, { appId, batchId });
    if (!opened.ok) {
      const { reason, keyId } = opened.error;
      const message =
        reason === "unknown_key"
          ? `sealed under key "${keyId}", which is not in the keyring`
          : `ciphertext does not authenticate under key "${keyId}"`;
      return err({ batchId, message });
    }
    try {
      const json = await decompress(opened.value, { maxOutputLength: storedJsonBytesMax });
      return ok(json.toString("utf8"));
    } catch {
      return err({ batchId, message: "payload does not decompress" });
    }
  }

  return {
    openJson,

    async seal(appId, batch) {
      const packed = await compress(utf8(canonicalJson(batch)));
      return keyring.seal(packed, { appId, batchId: batch.batchId });
    },

    async open(appId, batchId, sealed) {
      const json = await openJson(appId, batchId, sealed);
      if (!json.ok) return json;
      try {
        const batch = JSON.parse(json.value) as Batch;
        if (batch?.batchId !== batchId || !Array.isArray(batch.logs)) throw new Error("not this batch");
        return ok(batch);
      } catch {
        return err({ batchId, message: "payload is not this batch's JSON" });
      }
    },
  };
}

/** The bytes a stored row holds, as the envelope code wants them. */
export function sealedFromRow(row: { keyId: string; wrappedKey: Uint8Array; ciphertext: Uint8Array }): Sealed {
  return { keyId: row.keyId, wrappedKey: ownBytes(row.wrappedKey), ciphertext: ownBytes(row.ciphertext) };
}

/** A driver may hand back a view into a shared buffer; WebCrypto wants exactly these bytes. */
function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}
