// The bad-input corpus (test/bad-input.ts) against a real region, signed as the edge signs: every
// case is a 4xx with a JSON error body and a code, nothing is half-stored, and the region is
// healthy after it, on every driver.
import { describe, expect, it } from "vitest";
import { errorCodes, isErrorBody } from "../shared/errors.ts";
import type { LogPage } from "../shared/read.ts";
import { adminPaths, internalPaths } from "../shared/regions.ts";
import { badConsoleReads } from "../test/bad-console-reads.ts";
import { badAppUpserts, badPeerCalls, badReads, badUploads, badUtf8Bodies } from "../test/bad-input.ts";
import { baseTs, makeBatch } from "./testing/fixtures.ts";
import { adminRequest, drivers, readKeyFor, signedRequest, testAppId, useTestRegion } from "./testing/harness.ts";
import { storedCounts } from "./testing/rows.ts";

/** "" when the answer is a 4xx with a well-formed error body, else what was wrong with it. */
async function refusal(response: Response): Promise<string> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${response.status} (not JSON) ${text.slice(0, 120)}`;
  }
  const known = isErrorBody(body) && (errorCodes as readonly string[]).includes(body.error.code);
  if (response.status >= 400 && response.status < 500 && known) return "";
  return `${response.status} ${text.slice(0, 160)}`;
}

describe.each(drivers)("bad input against a region on %s", (kind) => {
  const t = useTestRegion(kind);
  const appId = testAppId();
  const good = makeBatch({ deviceId: "corpus-good", lines: [{ ts: baseTs, text: "the one good line" }] });

  async function expectRefused(cases: { name: string; call: () => Promise<Response> }[]) {
    const wrong: string[] = [];
    for (const { name, call } of cases) {
      const problem = await refusal(await call());
      if (problem) wrong.push(`${name}: ${problem}`);
    }
    expect(wrong).toEqual([]);
  }

  it("stores one good batch first", async () => {
    const response = await signedRequest(t.region.app, "POST", internalPaths.batches(appId), { json: good });
    expect(response.status).toBe(202);
    expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 1, devices: 1 });
  });

  it("refuses every bad upload with a 4xx and an error code", async () => {
    await expectRefused([
      ...badUploads().map((entry) => ({
        name: entry.name,
        call: () =>
          signedRequest(t.region.app, "POST", internalPaths.batches(appId), {
            body: entry.body,
            headers: { "content-type": entry.contentType ?? "application/json" },
          }),
      })),
      ...badUtf8Bodies().map((entry) => ({
        name: entry.name,
        call: () => signedRequest(t.region.app, "POST", internalPaths.batches(appId), { body: entry.body }),
      })),
    ]);
  });

  it("refuses every bad read with a 400", async () => {
    // With a live read key, so each case reaches the query's validation.
    const appKey = await readKeyFor(t.region, appId);
    const wrongStatus: string[] = [];
    await expectRefused(
      [...badReads().map((entry) => ({ ...entry, resource: "logs" as const })), ...badConsoleReads()].map((entry) => ({
        name: entry.name,
        call: async () => {
          const path = internalPaths[entry.resource](appId);
          const response = await signedRequest(t.region.app, "GET", `${path}?${entry.query}`, {
            appKey,
          });
          if (response.status !== 400) wrongStatus.push(`${entry.name}: ${response.status}`);
          return response;
        },
      })),
    );
    expect(wrongStatus).toEqual([]);
  });

  it("refuses app names and key labels no database can store", async () => {
    const otherApp = testAppId();
    await expectRefused(
      badAppUpserts().map((entry) => ({
        name: entry.name,
        call: () => adminRequest(t.region, "PUT", adminPaths.app(otherApp), { body: entry.body }),
      })),
    );
    expect(await t.region.store.appKeys(otherApp)).toBeNull();
  });

  it("refuses peer calls with ids or times no database or Date can hold", async () => {
    await expectRefused(
      badPeerCalls(appId).map((entry) => ({
        name: entry.name,
        call: () => signedRequest(t.region.app, "POST", entry.path, { body: entry.body, role: "peer" }),
      })),
    );
  });

  it("stored nothing more, and is healthy and serving after the corpus", async () => {
    expect(await storedCounts(t.region.database.db, appId)).toEqual({ batches: 1, devices: 1 });
    const health = await t.region.app.request("/v1/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "up", database: { ok: true } });
    const read = await signedRequest(t.region.app, "GET", internalPaths.logs(appId), {
      appKey: await readKeyFor(t.region, appId),
    });
    expect(read.status).toBe(200);
    expect(((await read.json()) as LogPage).logs.map((line) => line.text)).toEqual(["the one good line"]);
    const next = makeBatch({ deviceId: "corpus-good", lines: [{ ts: baseTs + 1 }] });
    const upload = await signedRequest(t.region.app, "POST", internalPaths.batches(appId), { json: next });
    expect(upload.status).toBe(202);
  });
});
