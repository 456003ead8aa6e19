/**
 * Shutting down with real processes: three regions and the edge (wrangler dev).
 *
 * Graceful drain: during a burst of concurrent uploads through the edge, the region the edge
 * prefers gets SIGTERM. It must turn `draining` (readiness 503) at once, finish what it holds, and
 * exit 0 within STORMLOG_SHUTDOWN_TIMEOUT_MS; every upload must be acknowledged, by it or by the
 * region the edge fails over to, and every acknowledged batch must read back through the edge.
 *
 * Restart: the whole system stopped and started again on the same folder keeps data and keys, and
 * the data folder never holds a log line in clear.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalSystem } from "../scripts/local-system.ts";
import { type LogPage, logPageSchema } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";
import { signedFetch } from "../shared/signed-fetch.ts";
import { type SentUpload, startTestSystem, type TestSystem, uploadStream, waitFor } from "./harness.ts";

const shutdownTimeoutMs = 5000;
let t: TestSystem;

beforeAll(async () => {
  t = await startTestSystem({
    healthProbeIntervalMs: 1000,
    regionEnv: {
      STORMLOG_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      STORMLOG_ANTI_ENTROPY_INTERVAL_MS: "1000",
      STORMLOG_ANTI_ENTROPY_SETTLE_MS: "2000",
    },
  });
});

afterAll(async () => {
  await t?.system.stop();
});

describe("SIGTERM during a burst of uploads", () => {
  /**
   * One burst: SIGTERM to the region the edge prefers while uploads stream, the burst running on
   * until the edge has failed over. What it sent, and what the drain looked like.
   */
  async function drainDuringBurst() {
    const health = await waitFor(
      "every region usable at the edge",
      async () => {
        const answer = (await (await fetch(`${t.system.info.edgeUrl}/v1/health`)).json()) as {
          order: string[];
          regions: { status: string }[];
        };
        return answer.regions.every((region) => ["up", "degraded"].includes(region.status)) ? answer : null;
      },
      15_000,
    );
    const victim = health.order[0] as string;
    const victimUrl = t.system.info.regions.find((region) => region.name === victim)?.url as string;

    const uploads = uploadStream(t.system, { concurrency: 12, deviceId: "drain-device" });
    await waitFor(
      "uploads reach the preferred region",
      async () => {
        return uploads.sent.filter((upload) => upload.region === victim).length >= 20 ? true : null;
      },
      15_000,
    );

    const stoppedMs = performance.now();
    const exit = t.system.stopRegion(victim, "SIGTERM");
    // Readiness fails at once, so the edge and an orchestrator stop sending.
    const notReady = await waitFor(
      "readiness fails",
      async () => {
        const answer = await fetch(`${victimUrl}/readyz`).catch(() => null);
        return answer === null || answer.status === 503 ? performance.now() - stoppedMs : null;
      },
      2000,
    );
    const exitCode = await exit;
    const drainMs = performance.now() - stoppedMs;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const sent = await uploads.stop();
    const inFlightAtStop = sent.filter(
      (u) => u.region === victim && u.startedMs < stoppedMs && u.startedMs + u.ms > stoppedMs,
    );
    const afterStop = sent.filter((upload) => upload.startedMs > stoppedMs + drainMs);
    console.log(
      `drain: ${sent.length} uploads, ${sent.filter((upload) => upload.status !== 202).length} failed, ${inFlightAtStop.length} in flight on ${victim} at SIGTERM and answered by it, ${afterStop.length} after its exit; not ready after ${notReady.toFixed(0)} ms, exited ${exitCode} after ${drainMs.toFixed(0)} ms`,
    );
    return { victim, sent, inFlightAtStop, afterStop, exitCode, drainMs };
  }

  it("drains the region: every upload is acknowledged, the region exits 0 within the bound, nothing is lost", async () => {
    // Whether an upload is inside the region (past its drain check) at the signal's instant is a
    // race: most of an upload's time is spent in the client and the edge. A burst that caught none
    // still checks everything else; it is run again, the region back, up to three times.
    const sent: Awaited<ReturnType<typeof drainDuringBurst>>["sent"] = [];
    for (let burst = 1; ; burst++) {
      const run = await drainDuringBurst();
      sent.push(...run.sent);
      expect(
        run.sent.filter((upload) => upload.status !== 202),
        t.output.join("\n"),
      ).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.drainMs).toBeLessThan(shutdownTimeoutMs + 2000);
      expect(run.afterStop.length).toBeGreaterThan(0);
      expect(run.afterStop.every((upload) => upload.region !== run.victim)).toBe(true);
      // The burst kept the region busy: it finished calls it held when the signal came.
      if (run.inFlightAtStop.length > 0) break;
      expect(burst, "no burst had an upload inside the region at SIGTERM").toBeLessThan(3);
      await t.system.startRegion(run.victim);
    }

    // A batch the stopped region acknowledged with one peer, whose copy to the other it could not
    // deliver while draining (a busy peer, the bound), is in two regions until anti-entropy brings
    // it to the third: once the minute it was received in has settled (a short horizon here). The
    // edge may send this read to that third region.
    const acknowledged = [...new Set(sent.map((upload) => upload.batchId))];
    const lost = await waitFor(
      "every acknowledged batch reads back through the edge",
      async () => {
        const stored = await batchIdsThroughEdge("drain-device").catch(() => null);
        if (!stored) return null;
        const missing = acknowledged.filter((batchId) => !stored.has(batchId));
        return missing.length === 0 ? missing : null;
      },
      90_000,
    ).catch(async () => whereMissing(sent, "drain-device"));
    expect(lost, t.output.slice(-200).join("\n")).toEqual([]);
  });
});

describe("a restart of the whole system on the same folder", () => {
  it("keeps data and keys across a restart, and never stores a log line in clear", async () => {
    const marker = `marker-${crypto.randomUUID()}`;
    const info = t.system.info;
    const uploaded = await fetch(`${info.edgeUrl}/v1/batches`, {
      method: "POST",
      headers: { authorization: `Bearer ${info.app.ingestKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        batchId: crypto.randomUUID(),
        device: { id: "restart-device" },
        logs: [
          { ts: "2026-05-01T10:00:00Z", level: "info", text: marker },
          { ts: "2026-05-01T10:00:01Z", level: "error", text: `${marker} failed` },
        ],
      }),
    });
    expect(uploaded.status).toBe(202);

    await t.system.stop();
    const files = await listFiles(path.join(t.dir, "data"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect((await readFile(file)).includes(marker), file).toBe(false);

    t.system = await LocalSystem.start(t.options);
    expect(t.system.info.app).toEqual(info.app);
    // The batch is in two regions at least (the ack quorum); the region that answers this read may
    // be the third, which the origin brings up to date after the restart.
    const logs = await waitFor(
      "the restarted system serves the batch",
      async () => {
        const read = await fetch(`${t.system.info.edgeUrl}/v1/logs?q=${marker}`, {
          headers: { authorization: `Bearer ${info.app.readKey}` },
        });
        const page = (await read.json()) as LogPage;
        return page.logs.length === 2 ? page.logs : null;
      },
      30_000,
    );
    expect(logs).toHaveLength(2);
  });
});

/** The ids of a device's batches, as the edge reads them (from the region it prefers). */
async function batchIdsThroughEdge(deviceId: string): Promise<Set<string>> {
  const stored = new Set<string>();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ device: deviceId, limit: "1000", ...(cursor ? { cursor } : {}) });
    const answer = await fetch(`${t.system.info.edgeUrl}/v1/logs?${query}`, {
      headers: { authorization: `Bearer ${t.system.info.app.readKey}` },
    });
    if (!answer.ok) throw new Error(`read through the edge: ${answer.status} ${await answer.text()}`);
    const page = (await answer.json()) as LogPage;
    for (const log of page.logs) stored.add(log.batchId);
    cursor = page.nextCursor;
  } while (cursor);
  return stored;
}

/**
 * For a failure that says something: each upload whose batch the edge does not read back, with
 * the regions that hold it now.
 */
async function whereMissing(sent: SentUpload[], deviceId: string) {
  const secrets = JSON.parse(await readFile(path.join(t.dir, "secrets.json"), "utf8")) as { edgeSecret: string };
  const through = await batchIdsThroughEdge(deviceId).catch(() => new Set<string>());
  const holdings = await Promise.all(
    t.system.info.regions.map(async (region) => {
      const held = new Set<string>();
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ device: deviceId, limit: "1000", ...(cursor ? { cursor } : {}) });
        const answer = await signedFetch({
          signer: { role: "edge", secret: secrets.edgeSecret, audience: region.name },
          baseUrl: region.url,
          method: "GET",
          pathAndQuery: `${internalPaths.logs(t.system.info.app.id)}?${query}`,
          requestId: "shutdown-e2e",
          appKey: t.system.info.app.readKey,
          timeoutMs: 5000,
        });
        if (!answer.ok) return { region: `${region.name} (${answer.error.kind})`, held };
        const page = logPageSchema.parse(await answer.value.json());
        for (const log of page.logs) held.add(log.batchId);
        cursor = page.nextCursor;
      } while (cursor);
      return { region: region.name, held };
    }),
  );
  return sent
    .filter((upload) => !through.has(upload.batchId))
    .map((upload) => ({
      ...upload,
      heldBy: holdings.filter(({ held }) => held.has(upload.batchId)).map(({ region }) => region),
    }));
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}
