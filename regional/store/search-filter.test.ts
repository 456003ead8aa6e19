// Search filters alone: a filter never rules out a batch holding a match of `q` (a case-insensitive
// substring), rules out most that do not, and differs between batches of the same text.
import { createCipheriv } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Batch, parseBatch } from "../../shared/batch.ts";
import { randomBytes } from "../../shared/encoding.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { searchFilter, searchProbe } from "./search-filter.ts";

const key = randomBytes(32);
const codec = { searchFilterKey: async () => key };

/** Small deterministic PRNG, so a failing case can be reproduced. */
function prng(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
}

const alphabet = [..."abcXYZ019_é İß-. /:\u{1F600}"];

function batchOf(texts: string[]): Batch {
  return parseBatch(makeBatch({ lines: texts.map((text, i) => ({ ts: baseTs + i, text })) }));
}

/**
 * The filter as the layout documented in search-filter.ts makes it, written plainly: the trigrams
 * of each word run, each hashed alone, its bits by the double-hashing formula. A filter stored by
 * any version must keep meaning the same bits.
 */
function layoutFilter(filterKey: Uint8Array, batch: Batch, nonce: Uint8Array): Uint8Array {
  const grams = new Set<string>();
  for (const line of batch.logs) {
    for (const run of line.text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []) {
      for (let i = 0; i + 3 <= run.length; i++) grams.add(run.slice(i, i + 3));
    }
  }
  const hash = (tail: (block: Buffer) => void) => {
    const block = Buffer.alloc(16);
    block.set(nonce);
    tail(block);
    return createCipheriv("aes-256-ecb", filterKey, null).setAutoPadding(false).update(block);
  };
  const bytes = Math.min(Math.max(8, Math.ceil((grams.size * 10) / 8)), 64 * 1024 - 14);
  const filter = new Uint8Array(14 + bytes);
  filter.set([1, 7]);
  filter.set(nonce, 2);
  filter.set(hash((block) => block.fill(0xff, 8)).subarray(0, 4), 10);
  const m = bytes * 8;
  for (const gram of grams) {
    const hashed = hash((block) => {
      for (let unit = 0; unit < 3; unit++) block.writeUInt16BE(gram.charCodeAt(unit), 8 + 2 * unit);
    });
    const h1 = hashed.readUInt32LE(0);
    const h2 = (hashed.readUInt32LE(4) | 1) >>> 0;
    for (let i = 0; i < 7; i++) {
      const bit = (h1 + i * h2) % m;
      filter[14 + (bit >>> 3)] = (filter[14 + (bit >>> 3)] as number) | (1 << (bit & 7));
    }
  }
  return filter;
}

describe("search filters", () => {
  it("set the bits of the documented layout, so filters stored by any version mean the same", async () => {
    const next = prng(7);
    const texts = Array.from({ length: 60 }, () =>
      Array.from({ length: 1 + next(40) }, () => alphabet[next(alphabet.length)]).join(""),
    );
    // Code units past 1023 (Cyrillic, CJK) are hashed apart from the packed ones.
    texts.push("Ошибка соединения: тайм-аут 30 с", "日本語のログ行 TimeoutError", "payment failed for card 4242");
    // A batch at its limits (1,000 lines of 1,000 random Latin, digits and Greek, all packed):
    // some 210,000 distinct trigrams, whose set grows many times. It takes a fraction of a second;
    // hashed into too few slots, it once took 50 s, which the timeout below catches.
    const letters = [..."abcdefghijklmnopqrstuvwxyz0123456789αβγδεζηθικλμνξοπρστυφχψω"];
    const many = Array.from({ length: 1000 }, () =>
      Array.from(randomBytes(1000), (byte) => letters[byte % letters.length]).join(""),
    );
    for (const batch of [batchOf(texts), batchOf(["ab"]), batchOf(texts.slice(-3)), batchOf(many)]) {
      const filter = await searchFilter(codec, "app", batch);
      expect(Buffer.from(filter).equals(Buffer.from(layoutFilter(key, batch, filter.subarray(2, 10))))).toBe(true);
    }
  }, 30_000);

  it("never rule out a batch holding a match, whatever the case, punctuation or position", async () => {
    const random = prng(11);
    const pick = (length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join("");
    for (let round = 0; round < 200; round++) {
      const texts = Array.from({ length: 1 + random(5) }, () => pick(1 + random(40)));
      const filter = await searchFilter(codec, "app", batchOf(texts));
      // Every substring of every line, with its case flipped, as a query.
      const text = [...(texts[random(texts.length)] as string)];
      const start = random(text.length);
      const q = text.slice(start, start + 1 + random(text.length - start)).join("");
      for (const query of [q, q.toUpperCase(), q.toLowerCase()]) {
        if (!texts.some((line) => line.toLowerCase().includes(query.toLowerCase()))) continue;
        const probe = await searchProbe(codec, "app", query);
        expect(probe?.rulesOut([filter]) ?? [false], `${JSON.stringify(query)} in ${JSON.stringify(texts)}`).toEqual([
          false,
        ]);
      }
    }
  });

  it("rule out batches without the word, with about 1% false positives", async () => {
    const random = prng(5);
    const hex = (n: number) => Array.from({ length: n }, () => random(16).toString(16)).join("");
    const filters: Uint8Array[] = [];
    for (let b = 0; b < 300; b++) {
      const texts = Array.from({ length: 100 }, () => `request ${hex(8)} user=${random(100000)} took ${random(900)}ms`);
      filters.push(await searchFilter(codec, "app", batchOf(texts)));
    }
    const probe = await searchProbe(codec, "app", "Zyzzyva");
    const ruledOut = probe?.rulesOut(filters) ?? [];
    expect(ruledOut.filter(Boolean).length).toBeGreaterThanOrEqual(297);
    // A filter is about 10 bits per distinct trigram: far smaller than the text.
    expect(Math.max(...filters.map((filter) => filter.byteLength))).toBeLessThan(2500);
  });

  it("cannot rule anything out for a query without three word characters in a row", async () => {
    for (const q of ["ab", "a.b", "--", " x y "]) expect(await searchProbe(codec, "app", q)).toBeNull();
  });

  it("opens batches with no filter or a filter of an unknown format", async () => {
    const probe = await searchProbe(codec, "app", "needle");
    const unknown = new Uint8Array(64).fill(0);
    expect(probe?.rulesOut([null, unknown, new Uint8Array(3)])).toEqual([false, false, false]);
  });

  it("keys each batch's filter apart: the same text sets other bits", async () => {
    const batch = batchOf(["payment failed for card 4242", "retry scheduled"]);
    const [one, two] = [await searchFilter(codec, "app", batch), await searchFilter(codec, "app", batch)];
    expect(Buffer.from(one.subarray(14)).equals(Buffer.from(two.subarray(14)))).toBe(false);
  });

  it("opens, rather than trusts, a filter made under another key (the keyring's lowest key retired)", async () => {
    const batch = batchOf(["payment failed for card 4242", "retry scheduled"]);
    const filter = await searchFilter(codec, "app", batch);
    const otherKey = { searchFilterKey: async () => randomBytes(32) };
    // Under the wrong key the bits are noise, which would rule out a batch holding the word.
    for (const q of ["payment", "zyzzyva"]) {
      expect((await searchProbe(otherKey, "app", q))?.rulesOut([filter])).toEqual([false]);
    }
    expect((await searchProbe(codec, "app", "zyzzyva"))?.rulesOut([filter, null, filter])).toEqual([true, false, true]);
  });
});
