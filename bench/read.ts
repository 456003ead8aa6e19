/**
 * `npm run bench:read [-- --db pglite|postgres] [--batches <n>] [--runs <n>] [--no-filter]`: text
 * search and deep pages over one app's logs, 1,000,000 realistic lines by default (10,000 batches
 * of 100 lines from 20 devices whose batches overlap in time; ids, numbers, durations, a stack
 * trace now and then). Reported, each the median of `--runs` warm runs with this process's CPU
 * time (process.cpuUsage; on PGlite the database runs in this process, on PostgreSQL read the wall
 * time):
 * - a rare word (in two batches): the time to the whole answer, following `nextCursor` page after
 *   page as the console does, with the pages and batches opened;
 * - a common word's first page;
 * - the timeline's first page and a deep page (page 50, its cursor reached by following cursors).
 *
 * Rows are sealed here by the region's codec (filters included, as the upload path computes them)
 * and bulk-inserted, with each device's row as the upload path leaves it; `load.filterCpuMsPerBatch`
 * is what computing one batch's filter costs (once, where it is sealed). `--no-filter` stores
 * them without filters, as batches stored before filters were: every search opens every batch.
 * `--db postgres` uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to
 * create a database of its own, dropped at the end. Prints JSON.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { autovacuumOnce } from "../regional/db/autovacuum.ts";
import { openDatabase } from "../regional/db/client.ts";
import { batches } from "../regional/db/schema/index.ts";
import { openKeystore } from "../regional/keystore/keystore.ts";
import { batchRow } from "../regional/store/batch-row.ts";
import { type BatchCodec, createBatchCodec } from "../regional/store/codec.ts";
import { upsertDevice } from "../regional/store/devices.ts";
import { expiresAtMs } from "../regional/store/expiry.ts";
import { createBatchStore } from "../regional/store/index.ts";
import { dayOf, ensurePartitions } from "../regional/store/partitions.ts";
import { searchFilter } from "../regional/store/search-filter.ts";
import { type Batch, type Level, parseBatch } from "../shared/batch.ts";
import { systemClock } from "../shared/clock.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";
import { generateKeyMaterial, Keyring } from "../shared/envelope.ts";
import type { LogQuery } from "../shared/read.ts";
import { createScratchDatabase, dropScratchDatabases, scratchName } from "./scratch-databases.ts";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "pglite" },
    batches: { type: "string", default: "10000" },
    runs: { type: "string", default: "5" },
    "no-filter": { type: "boolean", default: false },
    "deep-page": { type: "string", default: "50" },
  },
});
if (values.db !== "pglite" && values.db !== "postgres") throw new Error("--db: pglite or postgres");
const batchCount = Number(values.batches);
const runs = Number(values.runs);
const deepPage = Number(values["deep-page"]);
const withFilters = !values["no-filter"];
const linesPerBatch = 100;
const deviceCount = 20;
const lineEveryMs = 1000;
const pageLines = 100;
const insertRowsPerStatement = 200;
const appId = toHex(randomBytes(8));
const baseMs = Date.UTC(2026, 4, 1);
const rareWord = "LEDGER_DESYNC";
/** Batches (by number) whose lines hold the rare word: one early, one late. */
const rareBatches = new Set([Math.floor(batchCount * 0.13), Math.floor(batchCount * 0.77)]);

/** Small deterministic PRNG, so every run stores the same text. */
let state = 42;
const random = (n: number) => {
  state = (state * 1103515245 + 12345) % 2 ** 31;
  return state % n;
};
const hex = (n: number) => Array.from({ length: n }, () => random(16).toString(16)).join("");
const pick = <T>(list: readonly T[]): T => list[random(list.length)] as T;
const screens = ["Cart", "Checkout", "Home", "Search", "Product", "Orders", "Profile", "Settings"];
const endpoints = ["/api/v2/orders", "/api/v2/cart", "/api/v2/payments", "/api/v1/catalog/search", "/api/v2/session"];
const exceptions = [
  "java.lang.IllegalStateException",
  "java.net.SocketTimeoutException",
  "kotlin.KotlinNullPointerException",
];

function lineText(level: Level, rare: boolean): string {
  const user = random(500_000);
  if (rare)
    return `reconcile failed: ${rareWord} between local=${random(9999)} and server=${random(9999)} for user=${user}`;
  switch (level) {
    case "error":
      return [
        `${pick(exceptions)}: checkout failed for order ${hex(12)} (attempt ${1 + random(5)})`,
        `\tat com.shop.checkout.CheckoutViewModel.submit(CheckoutViewModel.kt:${100 + random(300)})`,
        `\tat com.shop.checkout.PaymentRepository.charge(PaymentRepository.kt:${50 + random(200)})`,
        "\tat kotlinx.coroutines.DispatchedTask.run(DispatchedTask.kt:108)",
        "\tat android.os.Handler.dispatchMessage(Handler.java:106)",
      ].join("\n");
    case "warn":
      return `retry ${1 + random(5)}/5 for payment pay_${hex(16)} after ${random(3000)}ms: upstream timeout`;
    case "debug":
      return `cache ${random(3) === 0 ? "miss" : "hit"} key=cart:${user}:${hex(8)} ttl=${random(600)}s size=${random(90_000)}B`;
    default:
      return random(2) === 0
        ? `GET ${pick(endpoints)}/${hex(8)}-${hex(4)} ${pick([200, 200, 200, 304, 404])} in ${random(900)}ms user=${user} req=${hex(16)}`
        : `screen ${pick(screens)} loaded in ${random(1500)}ms (${random(80)} items) session=${hex(12)} user=${user}`;
  }
}

/** Batch `b`: device `b % 20`, its (b / 20)th batch; devices' batches overlap in time. */
function benchBatch(b: number): Batch {
  const device = b % deviceCount;
  const sequence = Math.floor(b / deviceCount);
  const startMs = baseMs + sequence * linesPerBatch * lineEveryMs + device * 37;
  const rareAt = rareBatches.has(b) ? random(linesPerBatch) : -1;
  return parseBatch({
    batchId: `b-${String(b).padStart(6, "0")}-${hex(6)}`,
    device: { id: `device-${device}`, model: "Pixel 9", os: "Android", osVersion: "15", appVersion: "4.2.0" },
    logs: Array.from({ length: linesPerBatch }, (_, i) => {
      const roll = random(100);
      const level: Level = roll < 2 ? "error" : roll < 8 ? "warn" : roll < 30 ? "debug" : "info";
      return {
        ts: startMs + i * lineEveryMs,
        level,
        tag: pick(["Network", "CheckoutFlow", "UI", "Sync"]),
        text: lineText(level, i === rareAt),
        attrs: { attempt: random(3) },
      };
    }),
  });
}

const dir = await mkdtemp(path.join(tmpdir(), "stormlog-bench-read-"));
const databaseName = scratchName("stormlog_bench_read");
const databaseUrl = values.db === "postgres" ? await createScratchDatabase(databaseName) : undefined;
const database = await openDatabase({ databaseUrl, dataDir: path.join(dir, "db") });
const { db } = database;
let exitCode = 0;

try {
  const keyring = await Keyring.fromConfig({ active: "k1", keys: { k1: generateKeyMaterial() } });
  const keystore = await openKeystore({ databaseUrl: undefined, dataDir: path.join(dir, "keys") }, keyring);
  const codec = createBatchCodec(keyring, keystore);

  // Load: seal in this process, insert many rows a statement, then each device's row.
  const loadStartedMs = performance.now();
  const receivedAtMs = Date.now();
  const expiresAt = expiresAtMs(receivedAtMs, 30);
  await ensurePartitions(db, [dayOf(expiresAt)]);
  const widest = new Map<string, { batch: Batch; meta: Parameters<typeof upsertDevice>[3] }>();
  let storedBytes = 0;
  let filterBytes = 0;
  for (let start = 0; start < batchCount; start += insertRowsPerStatement) {
    const chunk = Array.from({ length: Math.min(insertRowsPerStatement, batchCount - start) }, (_, at) =>
      benchBatch(start + at),
    );
    const rows = await Promise.all(
      chunk.map(async (batch) => {
        const sealed = await codec.seal(appId, batch);
        const filter = withFilters ? await searchFilter(codec, appId, batch) : null;
        const held = widest.get(batch.device.id);
        const span = sealed.meta.lastTs - sealed.meta.firstTs;
        if (!held || span >= held.meta.lastTs - held.meta.firstTs)
          widest.set(batch.device.id, { batch, meta: sealed.meta });
        storedBytes += sealed.ciphertext.byteLength + sealed.wrappedKey.byteLength;
        filterBytes += filter?.byteLength ?? 0;
        const version = { appId, batchId: batch.batchId, origin: "bench", receivedAt: receivedAtMs };
        return batchRow(version, sealed, expiresAt, filter);
      }),
    );
    await db.insert(batches).values(rows);
  }
  await db.transaction(async (tx) => {
    for (const { batch, meta } of widest.values()) await upsertDevice(tx, appId, batch.device, meta, expiresAt);
  });
  // Statistics as each database's autovacuum leaves them: a region's own on PGlite, PostgreSQL's
  // (within its minute's nap) on PostgreSQL.
  if (database.kind === "pglite") await autovacuumOnce(database);
  else await db.execute(sql`analyze batches`);
  const loadSeconds = (performance.now() - loadStartedMs) / 1000;

  // What a filter costs where it is computed (the batch's origin, once): CPU per batch, sequential.
  const sample = Array.from({ length: 200 }, (_, b) => benchBatch(b));
  const filterCpu = process.cpuUsage();
  for (const batch of sample) await searchFilter(codec, appId, batch);
  const filterUsed = process.cpuUsage(filterCpu);
  const filterCpuMsPerBatch = Math.round(((filterUsed.user + filterUsed.system) / 1000 / sample.length) * 1000) / 1000;

  // Reads, through the store as the route calls it, counting the batches the codec opens.
  let opened = 0;
  const counting: BatchCodec = {
    ...codec,
    open: (app, batchId, stored) => {
      opened += 1;
      return codec.open(app, batchId, stored);
    },
  };
  const store = createBatchStore({ db, codec: counting, keystore, clock: systemClock });
  async function readPages(query: Partial<LogQuery>, pagesMax: number) {
    let cursor: string | undefined;
    let pages = 0;
    let lines = 0;
    do {
      const page = await store.readLogs(appId, { limit: pageLines, ...query, cursor });
      if (!page.ok) throw new Error(page.error.message);
      pages += 1;
      lines += page.value.logs.length;
      cursor = page.value.nextCursor ?? undefined;
    } while (cursor && pages < pagesMax);
    return { pages, lines, cursor };
  }

  type Sample = { wallMs: number; cpuMs: number; opened: number };
  async function measure(work: () => Promise<unknown>) {
    const samples: Sample[] = [];
    let answer: unknown;
    // One unmeasured run warms caches (the database's, the key store's, the JIT).
    for (let run = 0; run <= runs; run++) {
      opened = 0;
      const cpu = process.cpuUsage();
      const startedMs = performance.now();
      answer = await work();
      const used = process.cpuUsage(cpu);
      if (run > 0)
        samples.push({ wallMs: performance.now() - startedMs, cpuMs: (used.user + used.system) / 1000, opened });
    }
    const median = (pick: (sample: Sample) => number) =>
      Math.round(([...samples.map(pick)].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0) * 100) / 100;
    return {
      medianMs: median((s) => s.wallMs),
      cpuMs: median((s) => s.cpuMs),
      batchesOpened: median((s) => s.opened),
      answer,
    };
  }

  const rare = await measure(() => readPages({ q: rareWord.toLowerCase() }, 10_000));
  const rareAnswer = rare.answer as { pages: number; lines: number };
  if (rareAnswer.lines !== rareBatches.size)
    throw new Error(`rare word: ${rareAnswer.lines} lines, not ${rareBatches.size}`);
  const common = await measure(() => readPages({ q: "checkout" }, 1));
  const first = await measure(() => readPages({}, 1));
  const deepCursor = (await readPages({}, deepPage - 1)).cursor;
  if (!deepCursor) throw new Error(`no page ${deepPage}`);
  const deep = await measure(() => readPages({ cursor: deepCursor }, 1));
  const commonDeepCursor = (await readPages({ q: "checkout" }, deepPage - 1)).cursor;
  const commonDeep = commonDeepCursor
    ? await measure(() => readPages({ q: "checkout", cursor: commonDeepCursor }, 1))
    : null;
  const figure = ({ answer: _, ...rest }: Awaited<ReturnType<typeof measure>>) => rest;

  console.log(
    JSON.stringify(
      {
        database: database.kind,
        filters: withFilters,
        load: {
          lines: batchCount * linesPerBatch,
          batches: batchCount,
          seconds: Math.round(loadSeconds),
          storedMiB: Math.round(storedBytes / 2 ** 20),
          filterMiB: Math.round((filterBytes / 2 ** 20) * 10) / 10,
          filterCpuMsPerBatch,
        },
        runs,
        pageLines,
        rareWord: { ...figure(rare), pages: rareAnswer.pages, lines: rareAnswer.lines },
        commonWordFirstPage: figure(common),
        commonWordDeepPage: commonDeep && { page: deepPage, ...figure(commonDeep) },
        firstPage: figure(first),
        deepPage: { page: deepPage, ...figure(deep) },
        deepOverFirst: Math.round((deep.medianMs / first.medianMs) * 100) / 100,
      },
      null,
      2,
    ),
  );
  await keystore.close();
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await database.close();
  if (values.db === "postgres") await dropScratchDatabases([databaseName]);
  await rm(dir, { recursive: true, force: true });
}
process.exit(exitCode);
