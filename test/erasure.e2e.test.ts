/**
 * Erasure with real processes: three regions and the edge (wrangler dev).
 *
 * One region is stopped when a device is erased through the edge (`DELETE /v1/devices/:id`, manage
 * key); started again, it learns the erasure from its peers at its first anti-entropy round, and
 * `GET /v1/erasures/:id` turns `completed`: the time that takes is printed. Then the same region's
 * batch data folder is restored from a copy taken before the erasure: its key store (a sibling
 * folder) was not restored, so the device's ciphertext opens nowhere, the boot re-applies the
 * erasure, and the region never serves the device's lines. Ingest and read keys cannot erase.
 */
import { cp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verify } from "../regional/admin/cluster.ts";
import { regionFolders } from "../scripts/local-system.ts";
import { erasureReceiptSchema, erasureStatusSchema } from "../shared/lifecycle.ts";
import { logPageSchema } from "../shared/read.ts";
import { internalPaths } from "../shared/regions.ts";
import { signedFetch } from "../shared/signed-fetch.ts";
import { startTestSystem, type TestSystem, waitFor } from "./harness.ts";

let t: TestSystem;

beforeAll(async () => {
  t = await startTestSystem({ healthProbeIntervalMs: 1000 });
});

afterAll(async () => {
  await t?.system.stop();
});

const edge = () => t.system.info.edgeUrl;
const app = () => t.system.info.app;

async function upload(deviceId: string, text: string): Promise<void> {
  const response = await fetch(`${edge()}/v1/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${app().ingestKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      batchId: `${deviceId}-${text.replace(/\W/g, "-")}`,
      device: { id: deviceId, name: `${deviceId}'s phone`, model: "Pixel" },
      logs: [{ ts: new Date().toISOString(), level: "info", text }],
    }),
  });
  expect(response.status, await response.clone().text()).toBe(202);
}

/** The lines one region itself serves for a device, asked as the edge asks it. */
async function linesAt(region: string, deviceId: string): Promise<string[]> {
  const secrets = JSON.parse(await readFile(path.join(t.dir, "secrets.json"), "utf8")) as { edgeSecret: string };
  const { url } = t.system.info.regions.find((candidate) => candidate.name === region) as { url: string };
  const answer = await signedFetch({
    signer: { role: "edge", secret: secrets.edgeSecret, audience: region },
    baseUrl: url,
    method: "GET",
    pathAndQuery: `${internalPaths.logs(app().id)}?device=${deviceId}`,
    requestId: "erasure-e2e",
    appKey: app().readKey,
    timeoutMs: 5000,
  });
  if (!answer.ok) throw new Error(`${region}: ${answer.error.kind}`);
  const page = logPageSchema.parse(await answer.value.json());
  expect(page.integrityErrors).toEqual([]);
  return page.logs.map((line) => line.text);
}

async function converged(batches: number): Promise<true | null> {
  const result = await verify(t.system.adminCluster());
  const counts = Object.values(result.regions).map((region) => ("batches" in region ? region.batches : -1));
  return result.converged && counts.every((count) => count === batches) ? true : null;
}

describe("erasing a device through the edge", () => {
  it("reaches a region that was stopped, and a restored data folder never serves the device again", async () => {
    const [first, , away] = t.system.info.regions.map((region) => region.name) as [string, string, string];
    await upload("phone-1", "erase me");
    await upload("phone-1", "erase me too");
    await upload("phone-2", "keep me");
    // The demo app's seed batches are there too: wait for every region to hold the same.
    const before = await waitFor(
      "every region holding the uploads",
      async () => {
        const result = await verify(t.system.adminCluster());
        return result.converged ? result : null;
      },
      60_000,
    );
    const total = Object.values(before.regions).map((region) =>
      "batches" in region ? region.batches : 0,
    )[0] as number;
    expect(await linesAt(away, "phone-1")).toEqual(["erase me", "erase me too"]);

    // The region goes away; its batch data folder is copied (a backup without the key store).
    expect(await t.system.stopRegion(away)).toBe(0);
    const { dataDir } = regionFolders(t.dir, away);
    const backup = path.join(t.dir, "backup", away);
    await cp(dataDir, backup, { recursive: true });

    for (const key of [app().ingestKey, app().readKey]) {
      const refused = await fetch(`${edge()}/v1/devices/phone-1`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${key}` },
      });
      expect(refused.status).toBe(403);
    }
    const requested = await fetch(`${edge()}/v1/devices/phone-1`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${app().manageKey}` },
    });
    expect(requested.status, await requested.clone().text()).toBe(202);
    const receipt = erasureReceiptSchema.parse(await requested.json());
    const requestedMs = Date.now();
    const status = async () =>
      erasureStatusSchema.parse(
        await (
          await fetch(`${edge()}${receipt.statusUrl}`, { headers: { authorization: `Bearer ${app().readKey}` } })
        ).json(),
      );
    const partial = await status();
    expect(partial.completed).toBe(false);
    expect(partial.regions.find((region) => region.region === away)?.state).toBe("unreachable");
    expect(partial.regions.find((region) => region.region === first)?.state).toBe("completed");

    const startingMs = Date.now();
    await t.system.startRegion(away);
    const upMs = Date.now();
    const done = await waitFor(
      "the erasure completed in every region",
      async () => {
        const answer = await status();
        return answer.completed ? answer : null;
      },
      60_000,
    );
    const reachedEveryRegionMs = Date.now() - requestedMs;
    console.log(
      `erasure ${receipt.erasure.id}: completed in every region ${reachedEveryRegionMs} ms after the request; ` +
        `${away} was stopped until ${startingMs - requestedMs} ms, took ${upMs - startingMs} ms to start, ` +
        `and reported it completed ${Date.now() - upMs} ms after it was up`,
    );
    expect(done.regions.map((region) => region.state)).toEqual(["completed", "completed", "completed"]);
    for (const region of t.system.info.regions) {
      expect(await linesAt(region.name, "phone-1"), region.name).toEqual([]);
      expect(await linesAt(region.name, "phone-2"), region.name).toEqual(["keep me"]);
    }
    await waitFor("every region holding the same batches again", () => converged(total - 2), 60_000);

    // The batch data folder restored from before the erasure; the key store beside it stays.
    expect(await t.system.stopRegion(away)).toBe(0);
    await rm(dataDir, { recursive: true, force: true });
    await cp(backup, dataDir, { recursive: true });
    await t.system.startRegion(away);
    expect(await linesAt(away, "phone-1")).toEqual([]);
    expect(await linesAt(away, "phone-2")).toEqual(["keep me"]);
    await waitFor("the restored region converged", () => converged(total - 2), 60_000);
    expect((await status()).completed).toBe(true);
  });
});
