/**
 * The regions' own work per batch, with nothing else on the cores and nothing on the wire: an
 * origin and a peer built in this process (regional/region.ts, as server.ts builds them), the
 * origin parsing each upload body and storing it (`store.put`: the search filter, the seal, its
 * group's transaction) and the peer applying the sealed copy the origin hands over
 * (`replicas.applyMany`), for groups of 1 and of 10 batches. CPU from process.cpuUsage(), and on
 * PostgreSQL each region's backends' from /proc, apart (`database`), as end to end reports them.
 *
 * End to end's `regions` figure counts all three regions: one origin's work and two peers'
 * applies, and besides what is measured here their HTTP (the edge's call, the replicate calls),
 * replication's bookkeeping, metrics and probes, and sharing two cores with the edge and the load.
 * So `threeRegions` (parse + store + 2 × apply) is a floor under that figure (and `database`, the
 * origin's backends' CPU and twice the peer's, under end to end's), and the ingest targets can be
 * read against it: what the regions cannot cost less than, as they are built.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { pino } from "pino";
import { overloadDefaults } from "../regional/admission.ts";
import { replicationDefaults } from "../regional/config.ts";
import { createRegion, type Region } from "../regional/region.ts";
import { dayOf, ensurePartitions } from "../regional/store/partitions.ts";
import { parseBatch } from "../shared/batch.ts";
import { randomBytes, toHex } from "../shared/encoding.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";
import type { SealedBatch } from "../shared/replication.ts";
import type { Bodies } from "./lines.ts";
import { round } from "./load.ts";
import { postgresBackendCpuSeconds, processCpu } from "./process-cpu.ts";

/**
 * Where one of the two regions keeps its data: PGlite folders, or PostgreSQL databases (`databases`:
 * their names, whose backends' CPU is the region's `database`).
 */
export type RegionStorage = { dir: string; databaseUrl?: string; keystoreUrl?: string; databases?: string[] };

/**
 * CPU ms per batch: the origin's parse and store and a peer's apply in this process, three regions'
 * worth of that, and on PostgreSQL three regions' worth of their backends' CPU.
 */
export type InProcessFigures = {
  parse: number;
  store: number;
  apply: number;
  threeRegions: number;
  database?: number;
  /** Batches per transaction at the origin, as its group-size histogram counted them. */
  originGroup: number;
};

const groupSizes = [1, 10] as const;
const warmupBatches = 300;
const measuredBatches = 600;

export async function regionsInProcess(
  bodies: Bodies,
  storage: { origin: RegionStorage; peer: RegionStorage },
  partitionDays: number,
): Promise<Record<`groupOf${(typeof groupSizes)[number]}`, InProcessFigures>> {
  const keyring = { active: "k1", keys: { k1: generateKeyMaterial() } };
  const origin = await open("us-east", storage.origin, keyring, partitionDays);
  try {
    const peer = await open("eu-west", storage.peer, keyring, partitionDays);
    try {
      const appId = toHex(randomBytes(8));
      const cpuMs = () => {
        const own = process.cpuUsage();
        return (own.user + own.system) / 1000;
      };
      // Read around a whole measurement: /proc counts in 10 ms ticks, longer than one group takes.
      const backendMs = () => {
        const processes = processCpu();
        const of = (databases: string[] | undefined) =>
          databases?.length ? postgresBackendCpuSeconds(processes, databases) * 1000 : 0;
        return { origin: of(storage.origin.databases), peer: of(storage.peer.databases) };
      };
      const onPostgres = Boolean(storage.origin.databases?.length);
      const measure = async (groupSize: number, batches: number): Promise<InProcessFigures> => {
        const spent = { parse: 0, store: 0, apply: 0 };
        const groupsBefore = await groups(origin);
        const backendsBefore = backendMs();
        for (let done = 0; done < batches; done += groupSize) {
          const raw = Array.from({ length: groupSize }, () => bodies.next());
          let start = cpuMs();
          const parsed = raw.map((body) => parseBatch(JSON.parse(body)));
          spent.parse += cpuMs() - start;
          start = cpuMs();
          // Put together, so the origin's committer takes them as one group, as concurrent uploads.
          const stored = await Promise.all(
            parsed.map((batch) =>
              origin.store.put(appId, batch, { origin: "us-east", outboxPeers: ["eu-west"], leaseMs: 60_000 }),
            ),
          );
          spent.store += cpuMs() - start;
          const sealed = stored.map((result) => {
            if (!result.ok || !result.value.replica) throw new Error(`not stored: ${JSON.stringify(result)}`);
            return result.value.replica as SealedBatch;
          });
          start = cpuMs();
          const applied = await peer.replicas.applyMany(sealed);
          spent.apply += cpuMs() - start;
          if (!applied.every((outcome) => outcome.ok && outcome.value === "stored")) {
            throw new Error(`not applied: ${JSON.stringify(applied)}`);
          }
        }
        const backendsAfter = backendMs();
        const groupsAfter = await groups(origin);
        const perBatch = (ms: number) => round(ms / batches, 3);
        const database = backendsAfter.origin - backendsBefore.origin + 2 * (backendsAfter.peer - backendsBefore.peer);
        return {
          parse: perBatch(spent.parse),
          store: perBatch(spent.store),
          apply: perBatch(spent.apply),
          threeRegions: perBatch(spent.parse + spent.store + 2 * spent.apply),
          ...(onPostgres ? { database: perBatch(database) } : {}),
          originGroup: round((groupsAfter.sum - groupsBefore.sum) / (groupsAfter.count - groupsBefore.count), 2),
        };
      };
      // The first batches compile code and fill caches in both regions: not measured.
      for (const groupSize of groupSizes) await measure(groupSize, warmupBatches);
      return {
        groupOf1: await measure(1, measuredBatches),
        groupOf10: await measure(10, measuredBatches),
      };
    } finally {
      await peer.close();
    }
  } finally {
    await origin.close();
  }
}

/** The origin's group-size histogram so far: transactions, and batches in them. */
async function groups(region: Region): Promise<{ count: number; sum: number }> {
  const { values } = await region.metrics.groupBatches.get();
  const total = (suffix: string) => values.find((value) => value.metricName?.endsWith(suffix))?.value ?? 0;
  return { count: total("_count"), sum: total("_sum") };
}

async function open(
  name: string,
  storage: RegionStorage,
  keyring: { active: string; keys: Record<string, string> },
  partitionDays: number,
): Promise<Region> {
  const dataDir = path.join(storage.dir, "data", name);
  const keystoreDir = path.join(storage.dir, "keys", name);
  await mkdir(dataDir, { recursive: true });
  const region = await createRegion(
    {
      region: name,
      host: "127.0.0.1",
      port: 0,
      adminHost: "127.0.0.1",
      adminPort: 0,
      databaseUrl: storage.databaseUrl,
      dataDir,
      keystore: { databaseUrl: storage.keystoreUrl, dataDir: keystoreDir },
      secrets: { edge: toHex(randomBytes(24)), peer: toHex(randomBytes(24)), admin: toHex(randomBytes(24)) },
      keyring,
      logLevel: "silent",
      logSampleEvery: 1,
      shutdownTimeoutMs: 1000,
      lifecycleIntervalMs: 600_000,
      replication: { ...replicationDefaults, peers: [], ackQuorum: 1 },
      overload: overloadDefaults,
    },
    { logger: pino({ level: "silent" }) },
  );
  // As end to end's regions: a month of partitions, each of which every id lookup opens.
  const today = dayOf(Date.now());
  await ensurePartitions(
    region.database.db,
    Array.from({ length: partitionDays }, (_, index) => today + index),
  );
  return region;
}
