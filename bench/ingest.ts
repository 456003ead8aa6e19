/**
 * `npm run bench:ingest [-- --duration <s>] [--clients <n>]`: sustained ingest through the edge
 * into three regions with the ack quorum on (all on this machine, PGlite each), for realistic
 * batches (100 lines, about 16 KiB of JSON): log lines per second and ack latency p50/p99. Beside
 * it, in the same run, the storage ceiling: the same rows (sealed batches, as a region stores
 * them) inserted straight into the same kind of database, one transaction each, as fast as it
 * takes them; and the ratio of the two.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { openDatabase } from "../regional/db/client.ts";
import { batches } from "../regional/db/schema/index.ts";
import { openKeystore } from "../regional/keystore/keystore.ts";
import { batchRow } from "../regional/store/batch-row.ts";
import { createBatchCodec } from "../regional/store/codec.ts";
import { expiresAtMs } from "../regional/store/expiry.ts";
import { dayOf, ensurePartitions } from "../regional/store/partitions.ts";
import { LocalSystem } from "../scripts/local-system.ts";
import { freePort } from "../scripts/ports.ts";
import { type Batch, parseUpload } from "../shared/batch.ts";
import { Keyring } from "../shared/envelope.ts";
import { retentionDaysDefault } from "../shared/lifecycle.ts";
import { percentile } from "./holdings.ts";

const { values } = parseArgs({
  options: { duration: { type: "string", default: "30" }, clients: { type: "string", default: "16" } },
});
const durationMs = Number(values.duration) * 1000;
const clients = Number(values.clients);
const linesPerBatch = 100;
const words = "user tapped checkout cart payment token refreshed request failed retry cache miss screen loaded".split(
  " ",
);

function upload(client: number, sequence: number) {
  const now = Date.now();
  return {
    batchId: `bench-${client}-${sequence}-${crypto.randomUUID().slice(0, 8)}`,
    device: { id: `bench-device-${client}`, model: "Pixel 9", os: "Android", osVersion: "15", appVersion: "4.2.0" },
    logs: Array.from({ length: linesPerBatch }, (_, line) => ({
      ts: now - (linesPerBatch - line) * 10,
      level: line % 25 === 0 ? "error" : line % 5 === 0 ? "debug" : "info",
      tag: "CheckoutFlow",
      text: Array.from({ length: 12 }, (_, word) => words[(line * 7 + word * 3 + sequence) % words.length]).join(" "),
      attrs: { attempt: line % 3 },
    })),
  };
}

const dir = await mkdtemp(path.join(tmpdir(), "stormlog-bench-ingest-"));
const system = await LocalSystem.start({
  dir,
  edgePort: await freePort(),
  inspectorPort: await freePort(),
  regionPorts: [await freePort(), await freePort(), await freePort()],
  adminPorts: [await freePort(), await freePort(), await freePort()],
  output: () => undefined,
  regionEnv: { STORMLOG_LOG_LEVEL: "warn" },
});
let exitCode = 0;
try {
  const { edgeUrl, app } = system.info;
  const sample = JSON.stringify(upload(0, 0));
  console.log(`batch: ${linesPerBatch} lines, ${(sample.length / 1024).toFixed(1)} KiB of JSON; ${clients} clients`);

  // Through the edge, quorum on.
  const latenciesMs: number[] = [];
  let ackedLines = 0;
  const failures = new Map<number, number>();
  const sent: Batch[] = [];
  const startedMs = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let sequence = 0; performance.now() - startedMs < durationMs; sequence++) {
        const body = upload(client, sequence);
        const attemptMs = performance.now();
        const response = await fetch(`${edgeUrl}/v1/batches`, {
          method: "POST",
          headers: { authorization: `Bearer ${app.ingestKey}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        await response.body?.cancel();
        if (response.status !== 202) {
          failures.set(response.status, (failures.get(response.status) ?? 0) + 1);
          continue;
        }
        latenciesMs.push(performance.now() - attemptMs);
        ackedLines += linesPerBatch;
        if (sent.length < 2000) sent.push(parseUpload(body));
      }
    }),
  );
  const ingestSeconds = (performance.now() - startedMs) / 1000;
  const linesPerSecond = ackedLines / ingestSeconds;

  // The ceiling: the same rows, sealed beforehand, inserted straight into a fresh PGlite.
  const database = await openDatabase({ databaseUrl: undefined, dataDir: path.join(dir, "ceiling") });
  const keyring = await Keyring.fromConfig(JSON.parse(await readFile(path.join(dir, "keyring.json"), "utf8")));
  const keystore = await openKeystore({ databaseUrl: undefined, dataDir: path.join(dir, "ceiling-keys") }, keyring);
  const codec = createBatchCodec(keyring, keystore);
  const receivedAtMs = Date.now();
  const expiresAt = expiresAtMs(receivedAtMs, retentionDaysDefault);
  await ensurePartitions(database.db, [dayOf(expiresAt)]);
  const rows = await Promise.all(
    sent.map(async (batch) =>
      batchRow(
        { appId: app.id, batchId: batch.batchId, origin: "bench", receivedAt: receivedAtMs },
        await codec.seal(app.id, batch),
        expiresAt,
      ),
    ),
  );
  const ceilingStartMs = performance.now();
  for (const row of rows)
    await database.db.transaction((tx) =>
      tx
        .insert(batches)
        .values(row)
        .then(() => undefined),
    );
  const ceilingLinesPerSecond = (rows.length * linesPerBatch) / ((performance.now() - ceilingStartMs) / 1000);
  await database.close();
  await keystore.close();

  const report = {
    durationS: Math.round(ingestSeconds),
    clients,
    ingest: {
      linesPerSecond: Math.round(linesPerSecond),
      batchesAcknowledged: ackedLines / linesPerBatch,
      failures: Object.fromEntries(failures),
      ackLatencyMs: { p50: Math.round(percentile(latenciesMs, 50)), p99: Math.round(percentile(latenciesMs, 99)) },
    },
    storageCeiling: {
      linesPerSecond: Math.round(ceilingLinesPerSecond),
      rowsInserted: rows.length,
      database: "pglite",
    },
    ratio: Number((linesPerSecond / ceilingLinesPerSecond).toFixed(3)),
  };
  console.log(JSON.stringify(report, null, 2));
  if (ackedLines === 0) exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await system.stop();
  await rm(dir, { recursive: true, force: true });
}
process.exit(exitCode);
