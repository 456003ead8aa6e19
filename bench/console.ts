/**
 * `npm run bench:console [-- --lines <n>] [--runs <n>]`: the console's read API on one device with
 * 100,000 lines (realistic lines, batches of 100, a line every half second: about 14 h), loaded
 * into a real region (in-process, PGlite, the regional app called as the edge calls it, signed,
 * with a read key). After a warm-up, the median latency of: the first page of the timeline, the
 * second and a deep page (the 900th of 100 lines, both reached by following cursors), the newest
 * page (`order=desc`), a page around a line in the middle, the volume histogram over all of it, and
 * a device search; and the ratios deep/first and deep/second, which keyset paging keeps near 1 (a
 * scan from the start grew with the page's depth).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { overloadDefaults } from "../regional/admission.ts";
import { keystoreDirBeside, replicationDefaults } from "../regional/config.ts";
import { createRegion } from "../regional/region.ts";
import { parseBatch } from "../shared/batch.ts";
import { randomBytes, toHex, utf8 } from "../shared/encoding.ts";
import { generateKeyMaterial } from "../shared/envelope.ts";
import { keyHash, keyLabel, mintKey } from "../shared/keys.ts";
import { logPageSchema } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";
import { signRequest } from "../shared/signing.ts";
import { baseMs, benchDevice, deviceBatch, lineEveryMs, linesPerBatch } from "./device-lines.ts";
import { percentile } from "./holdings.ts";

const { values } = parseArgs({
  options: { lines: { type: "string", default: "100000" }, runs: { type: "string", default: "30" } },
});
const totalLines = Number(values.lines);
const runs = Number(values.runs);
const pageLines = 100;
/** The deep page's number, from 1: the 900th page of 100 lines starts at line 89,901. */
const deepPage = Math.min(900, Math.floor(totalLines / pageLines));
const deviceId = benchDevice.id;

const secrets = { edge: `bench-edge-${toHex(randomBytes(16))}`, peer: "p".repeat(32), admin: "a".repeat(32) };
const keySecret = toHex(randomBytes(32));
const appId = toHex(randomBytes(8));
const dataDir = await mkdtemp(path.join(tmpdir(), "stormlog-bench-console-"));
const region = await createRegion({
  region: "eu-west",
  host: "127.0.0.1",
  port: 0,
  adminHost: "127.0.0.1",
  adminPort: 0,
  databaseUrl: undefined,
  dataDir,
  keystore: { databaseUrl: undefined, dataDir: keystoreDirBeside(dataDir) },
  secrets,
  keyring: { active: "k1", keys: { k1: generateKeyMaterial() } },
  logLevel: "silent",
  logSampleEvery: 1,
  shutdownTimeoutMs: 1000,
  lifecycleIntervalMs: 600_000,
  replication: { ...replicationDefaults, peers: [], ackQuorum: 1 },
  overload: overloadDefaults,
});

async function get(pathAndQuery: string, readKey: string): Promise<unknown> {
  const signer = { role: "edge" as const, secret: secrets.edge, audience: "eu-west" };
  const headers = await signRequest(signer, { method: "GET", pathAndQuery, body: utf8(""), appKey: readKey });
  const response = await region.app.request(pathAndQuery, { headers });
  if (response.status !== 200) throw new Error(`${pathAndQuery}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Median (and p90) milliseconds of `runs` calls after `runs / 3` unmeasured ones. */
async function measure(call: () => Promise<unknown>): Promise<{ medianMs: number; p90Ms: number }> {
  for (let i = 0; i < Math.ceil(runs / 3); i++) await call();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const startedMs = performance.now();
    await call();
    times.push(performance.now() - startedMs);
  }
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { medianMs: round(percentile(times, 50)), p90Ms: round(percentile(times, 90)) };
}

let exitCode = 0;
try {
  const readKey = await mintKey(keySecret, appId, "read");
  await region.store.upsertApp({
    id: appId,
    name: "bench",
    keys: [{ hash: await keyHash(readKey), kind: "read", label: keyLabel(readKey) }],
  });
  const loadStartedMs = performance.now();
  for (let b = 0; b < totalLines / linesPerBatch; b++) {
    const batch = deviceBatch(b);
    const put = await region.store.put(appId, batch);
    if (!put.ok) throw new Error(put.error.message);
  }
  // A few other devices, so the search has something to skip.
  for (let d = 0; d < 200; d++) {
    const batch = parseBatch({
      batchId: `other-${d}-${toHex(randomBytes(4))}`,
      device: { id: `other-device-${d}`, model: d % 2 ? "iPhone 15" : "Galaxy S24", appVersion: "4.1.0" },
      logs: [{ ts: baseMs + d * 1000, level: "info", text: "hello" }],
    });
    await region.store.put(appId, batch);
  }
  const loadSeconds = (performance.now() - loadStartedMs) / 1000;
  const logs = (query: string) => `${internalPaths.logs(appId)}?device=${deviceId}&limit=${pageLines}${query}`;

  // The second and the deep page's cursors, by following nextCursor from the first page.
  let cursor = "";
  let secondCursor = "";
  for (let page = 1; page < deepPage; page++) {
    const answer = logPageSchema.parse(await get(logs(cursor ? `&cursor=${cursor}` : ""), readKey));
    if (!answer.nextCursor) throw new Error(`no page ${page + 1}`);
    cursor = answer.nextCursor;
    if (page === 1) secondCursor = cursor;
  }
  const deep = logPageSchema.parse(await get(logs(`&cursor=${cursor}`), readKey));
  const middle = deep.logs[50];
  if (!middle || deep.logs.length !== pageLines) throw new Error("the deep page is not full");

  const first = await measure(() => get(logs(""), readKey));
  const secondPage = await measure(() => get(logs(`&cursor=${secondCursor}`), readKey));
  const deepPageFigures = await measure(() => get(logs(`&cursor=${cursor}`), readKey));
  const newest = await measure(() => get(logs("&order=desc"), readKey));
  const around = await measure(() => get(logs(`&around=${middle.batchId}:${middle.index}`), readKey));
  const to = baseMs + totalLines * lineEveryMs + 1;
  const volume = await measure(() =>
    get(`${internalPaths.volume(appId)}?from=${baseMs}&to=${to}&buckets=60&device=${deviceId}`, readKey),
  );
  const volumeAll = await measure(() =>
    get(`${internalPaths.volume(appId)}?from=${baseMs}&to=${to}&buckets=500`, readKey),
  );
  const search = await measure(() => get(`${internalPaths.devices(appId)}?q=pixel&limit=50`, readKey));
  const report = {
    database: "pglite (in-process region)",
    load: { lines: totalLines, batches: totalLines / linesPerBatch, seconds: Math.round(loadSeconds) },
    runs,
    pageLines,
    firstPage: first,
    secondPage,
    deepPage: { page: deepPage, ...deepPageFigures },
    newestPage: newest,
    around,
    volumeDevice60Buckets: volume,
    volumeApp500Buckets: volumeAll,
    deviceSearch: search,
    deepOverFirst: Math.round((deepPageFigures.medianMs / first.medianMs) * 100) / 100,
    // Both pages follow a cursor, so this is what depth alone costs.
    deepOverSecond: Math.round((deepPageFigures.medianMs / secondPage.medianMs) * 100) / 100,
  };
  console.log(JSON.stringify(report, null, 2));
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await region.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(keystoreDirBeside(dataDir), { recursive: true, force: true });
}
process.exit(exitCode);
