/**
 * `npm run bench:expiry [-- --db pglite|postgres] [--runs <n>]`: what expiring one day of batches
 * costs, for a day of 100,000 lines and a day of 1,000,000 lines (100-line batches, as the SDK
 * sends them), so the figure shows whether the cost grows with what the day holds. Expiring is
 * what the region does (store/partitions.ts `dropExpiredPartitions`: the day's partition dropped
 * whole); the baseline, in the same run on the same rows, is deleting them with DELETE, then the
 * VACUUM that makes their space reusable (a DELETE alone only marks the rows dead).
 *
 * Rows are real sealed batches: a few are sealed by the region's codec and copied under distinct
 * ids (`batchRow`, as the upload path builds rows), since sealing a million lines would time the
 * codec, not expiry. Each figure is the median of `--runs` fills and expiries: wall time, and the
 * CPU time of this process (process.cpuUsage). On PGlite the database runs in this process, so CPU
 * time is the database's work; on PostgreSQL the work is in the server, so read the wall time.
 * `--db postgres` uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to
 * create a database of its own, dropped at the end. Prints JSON.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { openDatabase } from "../regional/db/client.ts";
import { batches } from "../regional/db/schema/index.ts";
import { openKeystore } from "../regional/keystore/keystore.ts";
import { batchRow } from "../regional/store/batch-row.ts";
import { createBatchCodec } from "../regional/store/codec.ts";
import { dayMs, dropExpiredPartitions, ensurePartitions, partitionName } from "../regional/store/partitions.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";
import { generateKeyMaterial, Keyring } from "../shared/envelope.ts";
import { deviceBatch, linesPerBatch } from "./device-lines.ts";
import { createScratchDatabase, dropScratchDatabases, scratchName } from "./scratch-databases.ts";

const { values } = parseArgs({
  options: { db: { type: "string", default: "pglite" }, runs: { type: "string", default: "5" } },
});
if (values.db !== "pglite" && values.db !== "postgres") throw new Error("--db: pglite or postgres");
const runs = Number(values.runs);
const appId = toHex(randomBytes(8));
const retentionDays = 30;
const sizes = { "100k": 100_000, "1M": 1_000_000 } as const;
type Size = keyof typeof sizes;
const insertRowsPerStatement = 250;

const dir = await mkdtemp(path.join(tmpdir(), "stormlog-bench-expiry-"));
const databaseName = scratchName("stormlog_bench_expiry");
const databaseUrl = values.db === "postgres" ? await createScratchDatabase(databaseName) : undefined;
const database = await openDatabase({ databaseUrl, dataDir: path.join(dir, "db") });
const { db } = database;

try {
  const keyring = await Keyring.fromConfig({ active: "k1", keys: { k1: generateKeyMaterial() } });
  // The key store is a PGlite folder of its own whichever database holds the batches: only a few
  // batches are sealed, and their rows are copied.
  const keystore = await openKeystore({ databaseUrl: undefined, dataDir: path.join(dir, "keys") }, keyring);
  const codec = createBatchCodec(keyring, keystore);
  const sealed = await Promise.all(Array.from({ length: 8 }, (_, b) => codec.seal(appId, deviceBatch(b))));
  // Each size's day, far enough apart that neither drop touches the other.
  const dayOf: Record<Size, number> = { "100k": 30_000, "1M": 30_010 };

  async function fill(size: Size): Promise<void> {
    const day = dayOf[size];
    await ensurePartitions(db, [day]);
    const batchCount = sizes[size] / linesPerBatch;
    for (let start = 0; start < batchCount; start += insertRowsPerStatement) {
      const rows = Array.from({ length: Math.min(insertRowsPerStatement, batchCount - start) }, (_, offset) => {
        const index = start + offset;
        // Spread over the day, as a day of uploads would be.
        const expiresAt = day * dayMs + Math.floor((index / batchCount) * (dayMs - 1));
        const version = {
          appId,
          batchId: `bench-${size}-${index}`,
          origin: "bench",
          receivedAt: expiresAt - retentionDays * dayMs,
        };
        return batchRow(version, sealed[index % sealed.length] as (typeof sealed)[number], expiresAt);
      });
      await db.insert(batches).values(rows);
    }
    // Both methods start from a settled table, as a day's partition long past its writes is:
    // analyzed, and written out by a checkpoint (so neither times the other's leftover writes).
    await db.execute(sql.raw(`analyze "${partitionName(day)}"`));
    await db.execute(sql`checkpoint`);
  }

  async function timed(work: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await work();
    const used = process.cpuUsage(cpu);
    return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
  }

  const dropPartition = (size: Size) => dropExpiredPartitions(db, (dayOf[size] + 1) * dayMs);
  const deleteRows = async (size: Size) => {
    const deleted = await db
      .delete(batches)
      .where(
        sql`${batches.appId} = ${appId}
          and ${batches.expiresAt} >= ${new Date(dayOf[size] * dayMs).toISOString()}::timestamptz
          and ${batches.expiresAt} < ${new Date((dayOf[size] + 1) * dayMs).toISOString()}::timestamptz`,
      )
      .returning({ batchId: batches.batchId });
    if (deleted.length !== sizes[size] / linesPerBatch) throw new Error(`deleted ${deleted.length} rows`);
  };
  const vacuum = (size: Size) => db.execute(sql.raw(`vacuum "${partitionName(dayOf[size])}"`));

  type Method = "dropPartition" | "deleteRows" | "deleteThenVacuum";
  type Sample = { wallMs: number; cpuMs: number };
  const samples = {
    "100k": { dropPartition: [], deleteRows: [], deleteThenVacuum: [] },
    "1M": { dropPartition: [], deleteRows: [], deleteThenVacuum: [] },
  } as Record<Size, Record<Method, Sample[]>>;
  for (let run = 0; run < runs; run++) {
    for (const size of Object.keys(sizes) as Size[]) {
      await fill(size);
      const deleted = await timed(() => deleteRows(size));
      const vacuumed = await timed(() => vacuum(size));
      samples[size].deleteRows.push(deleted);
      samples[size].deleteThenVacuum.push({
        wallMs: deleted.wallMs + vacuumed.wallMs,
        cpuMs: deleted.cpuMs + vacuumed.cpuMs,
      });
      // The same rows again, then the day dropped as the region expires it. The emptied partition
      // from the DELETE goes first, untimed, so the drop below is of a full one.
      await dropPartition(size);
      await fill(size);
      samples[size].dropPartition.push(await timed(() => dropPartition(size)));
    }
  }

  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
  const figure = (list: Sample[]): Sample => ({
    wallMs: round(median(list.map((sample) => sample.wallMs))),
    cpuMs: round(median(list.map((sample) => sample.cpuMs))),
  });
  const methods: Method[] = ["dropPartition", "deleteRows", "deleteThenVacuum"];
  const days = {} as Record<Size, { lines: number; batches: number } & Record<Method, Sample>>;
  for (const size of Object.keys(sizes) as Size[]) {
    days[size] = { lines: sizes[size], batches: sizes[size] / linesPerBatch } as (typeof days)[Size];
    for (const method of methods) days[size][method] = figure(samples[size][method]);
  }
  const ratio1Mto100k = Object.fromEntries(
    methods.map((method) => [
      method,
      {
        wall: round(days["1M"][method].wallMs / Math.max(days["100k"][method].wallMs, 0.001)),
        cpu: round(days["1M"][method].cpuMs / Math.max(days["100k"][method].cpuMs, 0.001)),
      },
    ]),
  );
  console.log(JSON.stringify({ database: database.kind, runs, linesPerBatch, days, ratio1Mto100k }, null, 2));
  await keystore.close();
} finally {
  await database.close();
  if (values.db === "postgres") await dropScratchDatabases([databaseName]);
  await rm(dir, { recursive: true, force: true });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
