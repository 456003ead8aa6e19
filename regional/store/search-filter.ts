/**
 * Search filters: what lets a text search (`q`, a case-insensitive substring of a line's text)
 * skip a sealed batch without opening it.
 *
 * Each batch stores a Bloom filter of the trigrams (three UTF-16 code units) inside the word runs
 * (letters, digits, `_`) of its lowercased line texts. A line whose lowercased text contains the
 * lowercased query contains each of the query's word runs inside one of its own, so every trigram
 * of the query is in the filter of every batch holding a match: a batch missing any of them is
 * skipped, never a match hidden. Trigrams rather than words because `q` is a substring: `timeout`
 * must find `readTimeout`. A query with no word run of three characters cannot be ruled out by a
 * filter, and batches stored without one (before filters existed) are always opened.
 *
 * The filter tells a reader of the database nothing about the text without the key: a trigram's
 * bit positions are AES-256 (a pseudo-random permutation, keyed per app from the keyring, never
 * stored) of the trigram under a random nonce kept with the filter, so the same word sets other
 * bits in every batch, and a batch an attacker uploads with known words says nothing about which
 * other batches hold them. What shows is the filter's size, which follows the batch's number of
 * distinct trigrams. AES in ECB mode here is a keyed function over distinct 16-byte blocks (nonce
 * and trigram), not a cipher for data: thousands of blocks in one call cost microseconds, where
 * an HMAC each would cost milliseconds per batch.
 *
 * Layout: version (1), hashes per trigram (k), nonce (8 bytes), then the bits (m = 8 × the rest).
 * It is computed once where the batch is sealed (its origin) and travels with the batch to peers.
 */
import { createCipheriv, randomBytes } from "node:crypto";
import type { Batch } from "../../shared/batch.ts";
import type { BatchCodec } from "./codec.ts";

const filterVersion = 1;
const nonceBytes = 8;
const headerBytes = 2 + nonceBytes;
/** 10 bits and 7 hashes per trigram: about 1% false positives per trigram. */
const bitsPerGram = 10;
const hashesPerGram = 7;
/** A batch with more distinct trigrams than fit gets more false positives, never a missed match. */
export const searchFilterBytesMax = 64 * 1024;

const wordRun = /[\p{L}\p{N}_]+/gu;

/** The trigrams of `text` as a search sees them: lowercased, inside word runs, as numbers. */
export function addGrams(text: string, into: Set<number>): Set<number> {
  for (const [run] of text.toLowerCase().matchAll(wordRun)) {
    for (let i = 0; i + 3 <= run.length; i++) {
      into.add(run.charCodeAt(i) * 2 ** 32 + run.charCodeAt(i + 1) * 2 ** 16 + run.charCodeAt(i + 2));
    }
  }
  return into;
}

/** One 16-byte block per trigram: the filter's nonce, then the trigram's 48 bits. */
function hashGrams(key: Uint8Array, nonce: Uint8Array, grams: Iterable<number>, count: number): Buffer {
  const blocks = Buffer.alloc(count * 16);
  let offset = 0;
  for (const gram of grams) {
    blocks.set(nonce, offset);
    blocks.writeUIntBE(gram, offset + nonceBytes, 6);
    offset += 16;
  }
  const cipher = createCipheriv("aes-256-ecb", key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(blocks), cipher.final()]);
}

/** Double hashing: the k bit positions of the trigram whose block is at `offset` of `hashed`. */
function positions(hashed: Buffer, offset: number, k: number, m: number, each: (bit: number) => boolean): boolean {
  const h1 = hashed.readUInt32LE(offset);
  const h2 = hashed.readUInt32LE(offset + 4) | 1;
  for (let i = 0; i < k; i++) if (!each((h1 + i * (h2 >>> 0)) % m)) return false;
  return true;
}

/** The batch's search filter, sized for its distinct trigrams. */
export async function searchFilter(
  codec: Pick<BatchCodec, "searchFilterKey">,
  appId: string,
  batch: Batch,
): Promise<Uint8Array> {
  const grams = new Set<number>();
  for (const line of batch.logs) addGrams(line.text, grams);
  const bytes = Math.min(Math.max(8, Math.ceil((grams.size * bitsPerGram) / 8)), searchFilterBytesMax - headerBytes);
  const filter = new Uint8Array(headerBytes + bytes);
  const nonce = randomBytes(nonceBytes);
  filter[0] = filterVersion;
  filter[1] = hashesPerGram;
  filter.set(nonce, 2);
  const bits = filter.subarray(headerBytes);
  const m = bytes * 8;
  const hashed = hashGrams(await codec.searchFilterKey(appId), nonce, grams, grams.size);
  for (let offset = 0; offset < hashed.length; offset += 16) {
    positions(hashed, offset, hashesPerGram, m, (bit) => {
      bits[bit >> 3] = (bits[bit >> 3] as number) | (1 << (bit & 7));
      return true;
    });
  }
  return filter;
}

/** What tells, from stored filters, which batches cannot hold a line matching one query. */
export type SearchProbe = {
  /** For each filter, whether its batch surely holds no match (false for a missing or unknown filter). */
  rulesOut(filters: readonly (Uint8Array | null)[]): boolean[];
};

/**
 * The probe for `q`, or null when no filter can rule anything out for it (no word run of three
 * characters): then every batch is opened, as before filters.
 */
export async function searchProbe(
  codec: Pick<BatchCodec, "searchFilterKey">,
  appId: string,
  q: string,
): Promise<SearchProbe | null> {
  const grams = [...addGrams(q, new Set())];
  if (grams.length === 0) return null;
  const key = await codec.searchFilterKey(appId);
  return {
    rulesOut(filters) {
      const readable = filters.map((filter) =>
        filter &&
        filter.byteLength > headerBytes &&
        filter[0] === filterVersion &&
        (filter[1] as number) > 0 &&
        (filter[1] as number) <= 32
          ? filter
          : null,
      );
      const count = readable.filter((filter) => filter !== null).length;
      if (count === 0) return filters.map(() => false);
      // One call for every filter of the page: each trigram under each filter's nonce.
      const blocks = Buffer.alloc(count * grams.length * 16);
      let offset = 0;
      for (const filter of readable) {
        if (!filter) continue;
        for (const gram of grams) {
          blocks.set(filter.subarray(2, headerBytes), offset);
          blocks.writeUIntBE(gram, offset + nonceBytes, 6);
          offset += 16;
        }
      }
      const cipher = createCipheriv("aes-256-ecb", key, null).setAutoPadding(false);
      const hashed = Buffer.concat([cipher.update(blocks), cipher.final()]);
      offset = 0;
      return readable.map((filter) => {
        if (!filter) return false;
        const k = filter[1] as number;
        const m = (filter.byteLength - headerBytes) * 8;
        let out = false;
        for (let gram = 0; gram < grams.length; gram++, offset += 16) {
          if (out) continue;
          const present = positions(
            hashed,
            offset,
            k,
            m,
            (bit) => ((filter[headerBytes + (bit >> 3)] as number) & (1 << (bit & 7))) !== 0,
          );
          if (!present) out = true;
        }
        return out;
      });
    },
  };
}
