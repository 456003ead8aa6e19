// The live tail: lines in arrival order (a batch with old line times included), paged within a
// batch, filtered, a failover cursor from another region, and forged cursors refused.
import { describe, expect, it } from "vitest";
import { parseBatch } from "../../shared/batch.ts";
import type { TailPage } from "../../shared/console-api.ts";
import { decodeTailCursor, encodeTailCursor } from "../../shared/cursor.ts";
import { internalPaths } from "../../shared/regions.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, readKeyFor, signedRequest, testAppId, useTestRegion } from "../testing/harness.ts";

describe.each(drivers)("GET tail on %s", (kind) => {
  const t = useTestRegion(kind);

  async function poll(appId: string, params: Record<string, string | number> = {}): Promise<TailPage> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const suffix = query.size > 0 ? `?${query}` : "";
    const response = await signedRequest(t.region.app, "GET", `${internalPaths.tail(appId)}${suffix}`, {
      appKey: await readKeyFor(t.region, appId),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as TailPage;
  }
  const put = async (appId: string, lines: Parameters<typeof makeBatch>[0]["lines"], deviceId = "d") => {
    const batch = parseBatch(makeBatch({ deviceId, lines }));
    expect((await t.region.store.put(appId, batch)).ok).toBe(true);
    return batch.batchId;
  };

  it("starts now, then returns what arrived since, old line times included", async () => {
    const appId = testAppId();
    await put(appId, [{ ts: baseTs, text: "before the tail" }]);
    const start = await poll(appId);
    expect(start.logs).toEqual([]);
    expect(decodeTailCursor(start.nextCursor)?.region).toBe("eu-west");
    await put(appId, [{ ts: Date.now(), text: "new" }]);
    await put(appId, [{ ts: baseTs - 86_400_000, text: "old line, uploaded late" }]);
    const next = await poll(appId, { after: start.nextCursor });
    expect(next.logs.map((line) => line.text)).toEqual(["new", "old line, uploaded late"]);
    const idle = await poll(appId, { after: next.nextCursor });
    expect(idle.logs).toEqual([]);
    await put(appId, [{ ts: baseTs, text: "later still" }]);
    expect((await poll(appId, { after: idle.nextCursor })).logs.map((line) => line.text)).toEqual(["later still"]);
  });

  it("pages inside a batch by limit, and filters like a log read", async () => {
    const appId = testAppId();
    const start = await poll(appId);
    const lines = Array.from({ length: 5 }, (_, i) => ({
      ts: baseTs + i,
      text: `line ${i}`,
      level: i % 2 ? ("error" as const) : ("info" as const),
      ...(i === 4 ? { tag: "net" } : {}),
    }));
    const batchId = await put(appId, lines);
    await put(appId, [{ ts: baseTs, text: "other device", level: "error" }], "e");
    const seen: string[] = [];
    let cursor = start.nextCursor;
    for (let polls = 0; polls < 10; polls++) {
      const page = await poll(appId, { after: cursor, limit: 2 });
      seen.push(...page.logs.map((line) => `${line.batchId}:${line.index}`));
      cursor = page.nextCursor;
      if (page.logs.length === 0) break;
    }
    expect(seen.slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((i) => `${batchId}:${i}`));
    expect(seen).toHaveLength(6);
    const errors = await poll(appId, { after: start.nextCursor, levels: "error", device: "d" });
    expect(errors.logs.map((line) => line.text)).toEqual(["line 1", "line 3"]);
    const tagged = await poll(appId, { after: start.nextCursor, tag: "net", q: "LINE" });
    expect(tagged.logs.map((line) => line.text)).toEqual(["line 4"]);
  });

  it("serves another region's cursor from its arrival floor, repeating rather than losing", async () => {
    const appId = testAppId();
    await put(appId, [{ ts: baseTs, text: "arrived a moment ago" }]);
    const foreign = encodeTailCursor({
      region: "us-east",
      txid: "99999999",
      batchId: "",
      index: -1,
      sinceMs: Date.now() - 30_000,
    });
    const page = await poll(appId, { after: foreign });
    expect(page.logs.map((line) => line.text)).toEqual(["arrived a moment ago"]);
    expect(decodeTailCursor(page.nextCursor)?.region).toBe("eu-west");
  });

  it("shows another app nothing", async () => {
    const mine = testAppId();
    const other = testAppId();
    const start = await poll(other);
    await put(mine, [{ ts: baseTs, text: "mine" }]);
    expect((await poll(other, { after: start.nextCursor })).logs).toEqual([]);
  });

  it.each([
    ["a cursor it did not write", { after: "nope" }],
    ["a log cursor", { after: "WzE3Njc0Mjg4MDAwMDAsIiIsLTFd" }],
    [
      "a txid past 19 digits",
      { after: Buffer.from('["tail","eu-west","12345678901234567890","",-1,1767268800000]').toString("base64url") },
    ],
    [
      "a txid past a bigint",
      { after: Buffer.from('["tail","eu-west","9999999999999999999","",-1,1767268800000]').toString("base64url") },
    ],
    ["a bad region name", { after: Buffer.from('["tail","EU WEST","1","",-1,1767268800000]').toString("base64url") }],
  ])("refuses %s with 400 naming after", async (_name, params) => {
    const appId = testAppId();
    const response = await signedRequest(
      t.region.app,
      "GET",
      `${internalPaths.tail(appId)}?${new URLSearchParams(params)}`,
      {
        appKey: await readKeyFor(t.region, appId),
      },
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("after");
  });
});
