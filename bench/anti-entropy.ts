/**
 * `npm run bench:antientropy [-- --db pglite|postgres] [--sizes 10000,100000,1000000] [--runs 3]`:
 * what one anti-entropy pass between two regions costs as the regions hold more batches, so the
 * figures show whether it grows with the data (issue 14: a pass at 1M batches within 2× of 10k).
 *
 * Two regions run in this process (createRegion, as the server builds them), each on its own
 * database, served over real HTTP on 127.0.0.1:9600 and :9601 (`--port` moves them), and peers of
 * each other. Both hold the same batches, spread over the 30 days of the default retention in two
 * apps (1,440 app-hours), inserted in bulk by SQL (copies of one real sealed 20-line row under
 * distinct ids: sealing a million batches would time the codec), so the digests kept on write are built
 * by the same triggers as any write. Sizes grow in one run: each adds rows to reach the next.
 *
 * At each size, each of `--runs` rounds makes a few buckets differ (real batches uploaded hours
 * ago in one region only, some each way) and puts a few batches of the current hour in one
 * region only, as in flight under load; then it times a pass from region a (the one the region
 * runs every 30 s per peer: control state, digests, repairs), then a pass with nothing left to
 * repair. The baseline is the previous version's pass, in the same run on the same rows: the
 * same code talking to a peer that answers format 1, which is how this version still compares
 * with a region of the previous one (MD5 over every batch on both sides, the current hour
 * included). Each figure is the median of the runs: wall time, CPU time of this process
 * (process.cpuUsage: on PGlite both databases run in it; on PostgreSQL read the wall time), bytes
 * on the wire both ways (bodies), buckets compared and differing, batches repaired. Before the
 * fill it also times what the digest triggers add to one insert (single-row transactions, with
 * the triggers on, then off). Prints JSON.
 *
 * `--no-baseline` skips the previous version's passes. `--db postgres` uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) to
 * create two databases of its own, dropped at the end.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { pino } from "pino";
import { overloadDefaults } from "../regional/admission.ts";
import { replicationDefaults } from "../regional/config.ts";
import { autovacuumOnce } from "../regional/db/autovacuum.ts";
import { batches } from "../regional/db/schema/index.ts";
import { createRegion, type Region } from "../regional/region.ts";
import { antiEntropy, type RepairReport } from "../regional/replication/anti-entropy.ts";
import { createPeerClient, type PeerClient } from "../regional/replication/peers.ts";
import { batchRow } from "../regional/store/batch-row.ts";
import { dayMs, dayOf, ensurePartitions } from "../regional/store/partitions.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";
import { retentionDaysDefault } from "../shared/lifecycle.ts";
import { internalPaths } from "../shared/regions.ts";
import { deviceBatch } from "./device-lines.ts";
import { createScratchDatabase, dropScratchDatabases, scratchName } from "./scratch-databases.ts";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "pglite" },
    sizes: { type: "string", default: "10000,100000,1000000" },
    runs: { type: "string", default: "3" },
    port: { type: "string", default: "9600" },
    "no-baseline": { type: "boolean", default: false },
  },
});
if (values.db !== "pglite" && values.db !== "postgres") throw new Error("--db: pglite or postgres");
const sizes = values.sizes.split(",").map(Number);
if (sizes.some((size, index) => !Number.isInteger(size) || size <= 0 || size < (sizes[index - 1] ?? 0))) {
  throw new Error("--sizes: increasing batch counts, e.g. 10000,100000,1000000");
}
const runs = Number(values.runs);
const withBaseline = !values["no-baseline"];
const basePort = Number(values.port);
const hourMs = 3_600_000;
const spanMs = retentionDaysDefault * dayMs;
const apps = [toHex(randomBytes(8)), toHex(randomBytes(8))];
const rowsPerStatement = 25_000;
const secrets = {
  edge: `bench-edge-${toHex(randomBytes(16))}`,
  peer: `bench-peer-${toHex(randomBytes(16))}`,
  admin: `bench-admin-${toHex(randomBytes(16))}`,
};
const keyring = { active: "k1", keys: { k1: generateKeyMaterial() } };
const dir = await mkdtemp(path.join(tmpdir(), "stormlog-bench-antientropy-"));
const databaseNames = ["a", "b"].map((name) => scratchName(`stormlog_bench_ae_${name}`));

/** Every write and read of the regions happens `offsetMs` ago: uploads into settled hours. */
let offsetMs = 0;
const clock = { now: () => Date.now() - offsetMs };
/** Request and response bodies through both regions' listeners. */
let wireBytes = 0;

type Node = { name: string; region: Region; close(): Promise<void> };

async function startNode(name: string, index: number): Promise<Node> {
  const databaseUrl =
    values.db === "postgres" ? await createScratchDatabase(databaseNames[index] as string) : undefined;
  const other = name === "a" ? "b" : "a";
  const region = await createRegion(
    {
      region: name,
      host: "127.0.0.1",
      port: basePort + index,
      adminHost: "127.0.0.1",
      adminPort: 0,
      databaseUrl,
      dataDir: path.join(dir, name),
      // The key store stays a PGlite folder: only the few real batches use it.
      keystore: { databaseUrl: undefined, dataDir: path.join(dir, `${name}-keys`) },
      secrets,
      keyring,
      logLevel: "silent",
      logSampleEvery: 1,
      shutdownTimeoutMs: 1000,
      lifecycleIntervalMs: 600_000,
      overload: overloadDefaults,
      replication: {
        ...replicationDefaults,
        peerTimeoutMs: 120_000,
        ackQuorum: 1,
        peers: [{ name: other, url: `http://127.0.0.1:${basePort + (index === 0 ? 1 : 0)}` }],
      },
    },
    { logger: pino({ level: "silent" }), clock },
  );
  const server = serve({
    hostname: "127.0.0.1",
    port: basePort + index,
    fetch: async (request: Request) => {
      if (request.body) wireBytes += (await request.clone().arrayBuffer()).byteLength;
      const response = await region.app.fetch(request);
      const body = await response.arrayBuffer();
      wireBytes += body.byteLength;
      return new Response(body, { status: response.status, headers: response.headers });
    },
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return {
    name,
    region,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await region.close();
    },
  };
}

const nodes = [await startNode("a", 0), await startNode("b", 1)];
const [a, b] = nodes as [Node, Node];

try {
  for (const node of nodes) {
    for (const appId of apps) await node.region.store.upsertApp({ id: appId, name: "bench", keys: [] });
    // Every day a batch of the last 30 days expires on, and the day after.
    const today = dayOf(Date.now());
    await ensurePartitions(
      node.region.database.db,
      Array.from({ length: retentionDaysDefault + 2 }, (_, day) => today + day),
    );
  }
  // One real sealed row, copied under distinct ids by the bulk fill.
  const firstBatch = deviceBatch(0);
  const template = await a.region.codec.seal(apps[0] as string, { ...firstBatch, logs: firstBatch.logs.slice(0, 20) });
  const startedMs = Date.now();
  const fromMs = Math.floor(startedMs / hourMs) * hourMs - spanMs + dayMs; // expires tomorrow at the earliest

  /**
   * Adds rows `from` to `to` - 1 to both regions, the same in each. The row triggers are off for
   * the statement (`session_replication_role`), which adds the rows' digests itself, as the
   * migration's backfill does: a million trigger calls would time the fill, not the pass.
   */
  async function fill(from: number, to: number): Promise<void> {
    const meta = template.meta;
    for (const node of nodes) {
      for (let start = from; start < to; start += rowsPerStatement) {
        const end = Math.min(to, start + rowsPerStatement) - 1;
        await node.region.database.db.transaction(async (tx) => {
          await tx.execute(sql`set local session_replication_role = replica`);
          // A pseudo-random spread over the span (Knuth's multiplicative hash), so every size
          // fills every hour alike; ids are distinct by `i`.
          await tx.execute(sql`
            with added as (
              select (array[${apps[0]}, ${apps[1]}])[1 + i % 2] as app_id, 'bulk-' || i as batch_id,
                timestamptz 'epoch' + (${fromMs}::bigint + (i * 2654435761) % ${spanMs - dayMs - 2 * hourMs}::bigint)
                  * interval '1 millisecond' as received_at, i
              from generate_series(${start}::bigint, ${end}::bigint) as i
            ), stored as (
              insert into batches (app_id, batch_id, device_id, received_at, origin, first_ts, last_ts, line_count,
                trace_count, debug_count, info_count, warn_count, error_count, fatal_count, seal_format,
                key_id, wrapped_key, ciphertext, expires_at, stored_bytes)
              select app_id, batch_id, 'device-' || (i % 500), received_at, 'a', received_at, received_at, 100,
                ${meta.counts.traceCount}, ${meta.counts.debugCount}, ${meta.counts.infoCount},
                ${meta.counts.warnCount}, ${meta.counts.errorCount}, ${meta.counts.fatalCount},
                ${template.format}, ${template.keyId}, decode(${toHex(template.wrappedKey)}, 'hex'),
                decode(${toHex(template.ciphertext)}, 'hex'), received_at + ${retentionDaysDefault} * interval '1 day',
                ${template.wrappedKey.byteLength + template.ciphertext.byteLength}
              from added
            )
            insert into bucket_digests (app_id, hour, expires_day, batches, hash_high, hash_low)
            select app_id, hour, expires_day, count(*), bit_xor(('x' || left(md5, 16))::bit(64)::bigint),
              bit_xor(('x' || right(md5, 16))::bit(64)::bigint)
            from (
              select app_id, floor(extract(epoch from received_at) / 3600)::int as hour,
                floor(extract(epoch from received_at + ${retentionDaysDefault} * interval '1 day') / 86400)::int
                  as expires_day,
                batch_version_md5(batch_id, 'a', received_at) as md5
              from added
            ) as versions
            group by app_id, hour, expires_day`);
        });
      }
      // Statistics as each database's autovacuum leaves them: the region's own on PGlite.
      if (node.region.database.kind === "pglite") await autovacuumOnce(node.region.database);
      else await node.region.database.db.execute(sql`analyze batches`);
    }
  }

  let uploads = 0;
  /** A real batch uploaded `hoursAgo` in one region only. */
  async function uploadOnly(node: Node, hoursAgo: number): Promise<void> {
    offsetMs = hoursAgo * hourMs;
    try {
      const appId = apps[uploads % 2] as string;
      const batch = deviceBatch(1 + uploads++);
      const stored = await node.region.store.put(appId, batch, { origin: node.name, outboxPeers: [], leaseMs: 0 });
      if (!stored.ok) throw new Error(stored.error.message);
    } finally {
      offsetMs = 0;
    }
  }
  /** Three settled buckets differ one way, two the other; three batches of this hour are in flight. */
  async function diverge(): Promise<void> {
    for (const hoursAgo of [5, 50, 300]) await uploadOnly(a, hoursAgo + uploads);
    for (const hoursAgo of [20, 200]) await uploadOnly(b, hoursAgo + uploads);
    for (let i = 0; i < 3; i++) await uploadOnly(a, 0);
  }

  const peerClient: PeerClient = createPeerClient({
    peers: [{ name: "b", url: `http://127.0.0.1:${basePort + 1}` }],
    peerSecret: secrets.peer,
    timeoutMs: 600_000,
    clock,
  });
  /** A peer of the previous version: it ignores `?format=2` and answers format 1. */
  const previousPeer: PeerClient = {
    ...peerClient,
    call: (peer, method, callPath, schema, body, requestId) =>
      peerClient.call(
        peer,
        method,
        callPath.startsWith(internalPaths.syncDigests) ? internalPaths.syncDigests : callPath,
        schema,
        body,
        requestId,
      ),
  };

  type Pass = { wallMs: number; cpuMs: number; bytes: number; report: RepairReport };
  async function pass(peers: PeerClient | null): Promise<Pass> {
    const cpu = process.cpuUsage();
    const bytes = wireBytes;
    const started = performance.now();
    const [report] = peers
      ? [
          await antiEntropy({
            region: "a",
            peer: { name: "b", url: `http://127.0.0.1:${basePort + 1}` },
            peers,
            replicas: a.region.replicas,
            clock,
            settleMs: replicationDefaults.antiEntropySettleMs,
          }).then((result) => {
            if (!result.ok) throw new Error(result.error.message);
            return result.report;
          }),
        ]
      : await a.region.replicator.runAntiEntropyOnce();
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    if (!report) throw new Error("no pass ran");
    return { wallMs, cpuMs: (used.user + used.system) / 1000, bytes: wireBytes - bytes, report };
  }

  const summary = (passes: Pass[]) => ({
    wallMs: Math.round(median(passes.map((p) => p.wallMs)) * 10) / 10,
    cpuMs: Math.round(median(passes.map((p) => p.cpuMs)) * 10) / 10,
    bytes: median(passes.map((p) => p.bytes)),
    bucketsCompared: median(passes.map((p) => p.report.bucketsCompared)),
    bucketsDiffering: median(passes.map((p) => p.report.bucketsDiffering)),
    repairs: median(passes.map((p) => p.report.pushed + p.report.pulled)),
  });

  const median = (list: number[]) => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)] ?? 0;

  /**
   * What the digest triggers add to a write: single-row inserts, each its own transaction as an
   * upload's is, with the triggers on and then off (on region b before the fill; removed after).
   */
  async function triggerCost() {
    const { db } = b.region.database;
    const timeInserts = async (tag: string) => {
      const count = 500;
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < count; i++) {
        const version = { appId: apps[0] as string, batchId: `cost-${tag}-${i}`, origin: "b", receivedAt: Date.now() };
        const row = batchRow(version, template, version.receivedAt + spanMs);
        await db.transaction(async (tx) => {
          await tx.insert(batches).values(row);
        });
      }
      const used = process.cpuUsage(cpu);
      const wallUs = ((performance.now() - started) * 1000) / count;
      await db.execute(sql`delete from batches where batch_id like ${`cost-${tag}-%`}`);
      return { wallUs, cpuUs: (used.user + used.system) / count };
    };
    const triggers = (state: "enable" | "disable") => db.execute(sql.raw(`alter table batches ${state} trigger user`));
    await timeInserts("warm");
    const on: { wallUs: number; cpuUs: number }[] = [];
    const off: { wallUs: number; cpuUs: number }[] = [];
    // Alternated, so a neighbour's load on this shared machine falls on both alike.
    for (let round = 0; round < 3; round++) {
      on.push(await timeInserts(`on${round}`));
      await triggers("disable");
      off.push(await timeInserts(`off${round}`));
      await triggers("enable");
    }
    const us = (list: { wallUs: number; cpuUs: number }[], field: "wallUs" | "cpuUs") =>
      Math.round(median(list.map((sample) => sample[field])));
    return {
      withTriggers: { wallUs: us(on, "wallUs"), cpuUs: us(on, "cpuUs") },
      withoutTriggers: { wallUs: us(off, "wallUs"), cpuUs: us(off, "cpuUs") },
      addedPerInsert: { wallUs: us(on, "wallUs") - us(off, "wallUs"), cpuUs: us(on, "cpuUs") - us(off, "cpuUs") },
    };
  }

  const results: Record<string, unknown>[] = [];
  let held = 0;
  // Warm: the regions' statements prepared, their caches filled.
  await fill(0, Math.min(1000, sizes[0] ?? 1000));
  held = Math.min(1000, sizes[0] ?? 1000);
  await pass(null);
  await pass(null);
  const triggers = await triggerCost();
  for (const size of sizes) {
    const fillStarted = performance.now();
    await fill(held, size);
    held = size;
    const fillMs = Math.round(performance.now() - fillStarted);
    await pass(null); // the digests of the rows just added folded, as the 30-s loop would have
    const repairing: Pass[] = [];
    const clean: Pass[] = [];
    const previous: Pass[] = [];
    for (let run = 0; run < runs; run++) {
      await diverge();
      repairing.push(await pass(null));
      clean.push(await pass(null));
      if (withBaseline) {
        await diverge();
        previous.push(await pass(previousPeer));
      }
    }
    results.push({
      batches: size,
      fillMs,
      pass: summary(repairing),
      passNothingToRepair: summary(clean),
      ...(withBaseline ? { previousVersionPass: summary(previous) } : {}),
    });
    console.error(`${size} batches: filled in ${fillMs} ms, measured`);
  }
  const ratio = (key: "pass" | "passNothingToRepair" | "previousVersionPass", field: "wallMs" | "cpuMs") => {
    const first = results[0]?.[key] as Record<string, number> | undefined;
    const last = results.at(-1)?.[key] as Record<string, number> | undefined;
    const [from, to] = [first?.[field], last?.[field]];
    return from && to ? Math.round((to / from) * 100) / 100 : null;
  };
  console.log(
    JSON.stringify(
      {
        db: values.db,
        runs,
        apps: apps.length,
        hoursSpanned: spanMs / hourMs,
        digestTriggerCost: triggers,
        sizes: results,
        ratioLargestToSmallest: {
          passWall: ratio("pass", "wallMs"),
          passCpu: ratio("pass", "cpuMs"),
          passNothingToRepairWall: ratio("passNothingToRepair", "wallMs"),
          passNothingToRepairCpu: ratio("passNothingToRepair", "cpuMs"),
          ...(withBaseline
            ? {
                previousVersionPassWall: ratio("previousVersionPass", "wallMs"),
                previousVersionPassCpu: ratio("previousVersionPass", "cpuMs"),
              }
            : {}),
        },
      },
      null,
      2,
    ),
  );
} finally {
  for (const node of nodes) await node.close();
  if (values.db === "postgres") await dropScratchDatabases(databaseNames);
  await rm(dir, { recursive: true, force: true });
}
