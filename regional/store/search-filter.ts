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
 * Layout: version (1), hashes per trigram (k), nonce (8 bytes), key check (4 bytes), then the bits
 * (m = 8 × the rest). The key check is the keyed function of the nonce alone: a filter made under
 * another key (the keyring's lowest key retired since) would rule out batches at random, so a
 * reader whose check differs opens the batch instead.
 * It is computed once where the batch is sealed (its origin) and travels with the batch to peers.
 */
import { createCipheriv, randomBytes } from "node:crypto";
import type { Batch } from "../../shared/batch.ts";
import type { BatchCodec } from "./codec.ts";

const filterVersion = 1;
const nonceBytes = 8;
const checkBytes = 4;
const headerBytes = 2 + nonceBytes + checkBytes;
/** 10 bits and 7 hashes per trigram: about 1% false positives per trigram. */
const bitsPerGram = 10;
const hashesPerGram = 7;
/** A batch with more distinct trigrams than fit gets more false positives, never a missed match. */
export const searchFilterBytesMax = 64 * 1024;

const wordChar = /^[\p{L}\p{N}_]$/u;
/** Letters, digits and `_` below 128, where nearly all log text is, without a regular expression. */
const asciiWord = new Uint8Array(128).map((_, code) => (wordChar.test(String.fromCharCode(code)) ? 1 : 0));

/**
 * Distinct trigrams packed into 30 bits (three code units below 1024 each, nearly every trigram),
 * in an open-addressing table: a 100-line batch adds some ten thousand and keeps about 1,500, for
 * half the CPU of a `Set`. Kept at most half full; a batch may hold millions (5 MB of text).
 */
class PackedGrams {
  #slots = new Int32Array(4096).fill(-1);
  /** 32 minus log2 of the table's size: Fibonacci hashing takes a product's top bits as the slot. */
  #shift = 20;
  readonly values: number[] = [];

  add(gram: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let slot = Math.imul(gram, 0x9e3779b1) >>> this.#shift; ; slot = (slot + 1) & mask) {
      const held = slots[slot] as number;
      if (held === gram) return;
      if (held === -1) {
        slots[slot] = gram;
        this.values.push(gram);
        if (this.values.length * 2 > mask) this.#grow();
        return;
      }
    }
  }

  #grow(): void {
    const grams = this.values.splice(0);
    this.#slots = new Int32Array(this.#slots.length * 2).fill(-1);
    this.#shift -= 1;
    for (const gram of grams) this.add(gram);
  }
}

/** A set of trigrams: packed (`PackedGrams`), and the rest with all 48 bits. */
export type Grams = { packed: PackedGrams; wide: Set<number>; readonly size: number };

export function newGrams(): Grams {
  return {
    packed: new PackedGrams(),
    wide: new Set(),
    get size() {
      return this.packed.values.length + this.wide.size;
    },
  };
}

/**
 * Adds the trigrams of `text` as a search sees them: of the lowercased text, inside runs of word
 * characters (letters, digits, `_`, decided per code point, so a run of a query lies inside a run
 * of any text that contains the query), in UTF-16 code units.
 */
export function addGrams(text: string, into: Grams): Grams {
  const lower = text.toLowerCase();
  let a = -1;
  let b = -1;
  const { packed, wide } = into;
  for (let i = 0; i < lower.length; i++) {
    const unit = lower.charCodeAt(i);
    // Nearly all log text, in a loop of its own: a third of this function's CPU went to the
    // general path below for every character.
    if (unit < 128) {
      if (asciiWord[unit] === 0) {
        a = -1;
        b = -1;
      } else {
        if (a >= 0) {
          if (a < 1024 && b < 1024) packed.add((a << 20) | (b << 10) | unit);
          else wide.add(a * 2 ** 32 + b * 2 ** 16 + unit);
        }
        a = b;
        b = unit;
      }
      continue;
    }
    const point = lower.codePointAt(i) as number;
    const units = point > 0xffff ? 2 : 1;
    if (!wordChar.test(String.fromCodePoint(point))) {
      a = -1;
      b = -1;
      i += units - 1;
      continue;
    }
    for (let k = 0; k < units; k++) {
      const c = lower.charCodeAt(i + k);
      if (a >= 0) {
        if (a < 1024 && b < 1024 && c < 1024) packed.add((a << 20) | (b << 10) | c);
        else wide.add(a * 2 ** 32 + b * 2 ** 16 + c);
      }
      a = b;
      b = c;
    }
    i += units - 1;
  }
  return into;
}

/**
 * Per nonce, the keyed function of one 16-byte block each: first the key check's (the nonce, then
 * 0xff bytes, which no trigram's block ends with), then each trigram's (the nonce, the trigram's
 * three code units, two zero bytes), packed trigrams first.
 */
function hashBlocks(key: Uint8Array, nonces: readonly Uint8Array[], grams: Grams): Buffer {
  const blockCount = 1 + grams.size;
  // Filled a nonce's run at a time from one template block, then the units written in. Writing
  // each block's nonce apart, after zeroing the buffer, and then copying the cipher's output
  // into one more buffer (24 KB for 100 lines), cost a tenth of the filter's CPU.
  const blocks = Buffer.allocUnsafe(nonces.length * blockCount * 16);
  const template = Buffer.alloc(16);
  let offset = 0;
  for (const nonce of nonces) {
    template.set(nonce);
    blocks.fill(template, offset, offset + blockCount * 16);
    blocks.fill(0xff, offset + nonceBytes, offset + 16);
    offset += 16;
    for (const gram of grams.packed.values) {
      putUnits(blocks, offset, gram >>> 20, (gram >>> 10) & 1023, gram & 1023);
      offset += 16;
    }
    for (const gram of grams.wide) {
      putUnits(blocks, offset, Math.floor(gram / 2 ** 32), Math.floor(gram / 2 ** 16) % 2 ** 16, gram % 2 ** 16);
      offset += 16;
    }
  }
  // Whole blocks and no padding: `update` returns every block, and `final` nothing.
  const cipher = createCipheriv("aes-256-ecb", key, null).setAutoPadding(false);
  const hashed = cipher.update(blocks);
  cipher.final();
  return hashed;
}

function putUnits(blocks: Buffer, offset: number, a: number, b: number, c: number): void {
  blocks[offset + 8] = a >>> 8;
  blocks[offset + 9] = a & 255;
  blocks[offset + 10] = b >>> 8;
  blocks[offset + 11] = b & 255;
  blocks[offset + 12] = c >>> 8;
  blocks[offset + 13] = c & 255;
}

/*
 * A trigram's k bits in a filter of m bits are h1 + i·h2 (mod m) for i < k (double hashing), h1
 * and h2 the first two little-endian words of its hashed block, h2 made odd. Both loops below step
 * them in small integers (h1 mod m, then + h2 mod m, wrapping): the same bits, at half the CPU of
 * the formula's floating-point remainders.
 */

/** The batch's search filter, sized for its distinct trigrams. */
export async function searchFilter(
  codec: Pick<BatchCodec, "searchFilterKey">,
  appId: string,
  batch: Batch,
): Promise<Uint8Array> {
  const grams = newGrams();
  for (const line of batch.logs) addGrams(line.text, grams);
  const bytes = Math.min(Math.max(8, Math.ceil((grams.size * bitsPerGram) / 8)), searchFilterBytesMax - headerBytes);
  const filter = new Uint8Array(headerBytes + bytes);
  const nonce = randomBytes(nonceBytes);
  filter[0] = filterVersion;
  filter[1] = hashesPerGram;
  filter.set(nonce, 2);
  const m = (bytes * 8) | 0;
  const hashed = hashBlocks(await codec.searchFilterKey(appId), [nonce], grams);
  filter.set(hashed.subarray(0, checkBytes), 2 + nonceBytes);
  for (let offset = 16; offset < hashed.length; offset += 16) {
    let bit = (hashed.readUInt32LE(offset) % m) | 0;
    const step = (((hashed.readUInt32LE(offset + 4) | 1) >>> 0) % m) | 0;
    for (let i = 0; i < hashesPerGram; i++) {
      const at = headerBytes + (bit >>> 3);
      filter[at] = (filter[at] as number) | (1 << (bit & 7));
      bit += step;
      if (bit >= m) bit -= m;
    }
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
  const grams = addGrams(q, newGrams());
  if (grams.size === 0) return null;
  const key = await codec.searchFilterKey(appId);
  const readable = (filter: Uint8Array | null): filter is Uint8Array =>
    filter !== null &&
    filter.byteLength > headerBytes &&
    filter[0] === filterVersion &&
    (filter[1] as number) > 0 &&
    (filter[1] as number) <= 32;
  return {
    rulesOut(filters) {
      const known = filters.filter(readable);
      if (known.length === 0) return filters.map(() => false);
      // One call for every filter of the step: each trigram under each filter's nonce.
      const hashed = hashBlocks(
        key,
        known.map((filter) => filter.subarray(2, 2 + nonceBytes)),
        grams,
      );
      let offset = 0;
      return filters.map((filter) => {
        if (!readable(filter)) return false;
        const k = filter[1] as number;
        const m = ((filter.byteLength - headerBytes) * 8) | 0;
        const checked = hashed.subarray(offset, offset + checkBytes);
        offset += 16;
        if (!checked.equals(filter.subarray(2 + nonceBytes, headerBytes))) {
          offset += grams.size * 16;
          return false;
        }
        let absent = false;
        for (let gram = 0; gram < grams.size; gram++, offset += 16) {
          if (absent) continue;
          let bit = (hashed.readUInt32LE(offset) % m) | 0;
          const step = (((hashed.readUInt32LE(offset + 4) | 1) >>> 0) % m) | 0;
          for (let i = 0; i < k; i++) {
            if (((filter[headerBytes + (bit >>> 3)] as number) & (1 << (bit & 7))) === 0) {
              absent = true;
              break;
            }
            bit += step;
            if (bit >= m) bit -= m;
          }
        }
        return absent;
      });
    },
  };
}
