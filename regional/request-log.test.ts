// The region's request log: uploads and replicate calls come by the hundred a second, so their
// plain successes are sampled (the first, then one in logSampleEvery) and the rest go to debug;
// refusals, reads and admin calls are always logged at info.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { internalPaths } from "../shared/regions.ts";
import type { Region } from "./region.ts";
import { baseTs, makeBatch } from "./testing/fixtures.ts";
import {
  createTestDatabase,
  readKeyFor,
  signedRequest,
  startTestRegion,
  type TestDatabase,
  testAppId,
} from "./testing/harness.ts";

type Logged = { level: number; msg: string; method: string; path: string; status: number };

describe("the region's request log", () => {
  let database: TestDatabase;
  let region: Region;
  const lines: Logged[] = [];
  const appId = testAppId();
  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    region = await startTestRegion(database, { logSampleEvery: 3 }, { logger });
  });
  afterAll(async () => {
    await region?.close();
    await database?.drop();
  });

  const requests = () => lines.filter((line) => line.msg === "request");
  const info = 30;
  const debug = 20;

  it("logs the first upload and then one in logSampleEvery at info, the others at debug", async () => {
    for (let n = 0; n < 5; n++) {
      const batch = makeBatch({ batchId: `sampled-${n}`, lines: [{ ts: baseTs, text: `line ${n}` }] });
      const response = await signedRequest(region.app, "POST", internalPaths.batches(appId), { json: batch });
      expect(response.status).toBe(202);
    }
    expect(requests().map((line) => [line.status, line.level])).toEqual([
      [202, info],
      [202, debug],
      [202, debug],
      [202, info],
      [202, debug],
    ]);
  });

  it("always logs a refused upload and a read at info", async () => {
    lines.length = 0;
    const refused = await signedRequest(region.app, "POST", internalPaths.batches(appId), { body: "not json" });
    expect(refused.status).toBe(400);
    const readKey = await readKeyFor(region, appId);
    for (let n = 0; n < 3; n++) {
      const read = await signedRequest(region.app, "GET", internalPaths.logs(appId), { appKey: readKey });
      expect(read.status).toBe(200);
    }
    expect(requests().map((line) => [line.method, line.status, line.level])).toEqual([
      ["POST", 400, info],
      ["GET", 200, info],
      ["GET", 200, info],
      ["GET", 200, info],
    ]);
  });
});
