// A replicate call's batches applied together: the new ones in one transaction, each of the rest
// by the one-by-one rules, every batch with its own outcome and a device row that sums them.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devices } from "../db/schema/index.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId } from "../testing/harness.ts";

describe.each(drivers)("replicas applied as a group on %s", (kind) => {
  let cluster: TestCluster;
  const appId = testAppId();
  const noOutbox = { origin: "a", outboxPeers: [], leaseMs: 0 };

  beforeAll(async () => {
    cluster = await startTestCluster(kind, ["a", "b"]);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("stores the new ones, holds a repeat, refuses one that does not authenticate, each by its own outcome", async () => {
    const a = cluster.node("a").region;
    const b = cluster.node("b").region;
    const sent = [0, 1, 2, 3].map((index) =>
      makeBatch({
        deviceId: "grouped",
        lines: [{ ts: baseTs + index * 10 }, { ts: baseTs + index * 10 + 1, level: "warn" }],
      }),
    );
    for (const batch of sent) expect((await a.store.put(appId, batch, noOutbox)).ok).toBe(true);
    const sealed = await a.replicas.loadSealed(sent.map((batch) => ({ appId, batchId: batch.batchId })));
    const byId = (batchId: string) => sealed.find((entry) => entry.batchId === batchId) as (typeof sealed)[number];
    const [first, second, third, fourth] = sent.map((batch) => byId(batch.batchId));
    if (!first || !second || !third || !fourth) throw new Error("not loaded");
    expect(await b.replicas.apply(first)).toEqual({ ok: true, value: "stored" });
    const tampered = {
      ...fourth,
      ciphertext: Buffer.from(
        Buffer.from(fourth.ciphertext, "base64").map((byte, index) => (index === 20 ? byte ^ 1 : byte)),
      ).toString("base64"),
    };

    const results = await b.replicas.applyMany([first, second, third, second, tampered]);
    expect(results.map((result) => (result.ok ? result.value : result.error.cause))).toEqual([
      "held",
      "stored",
      "stored",
      "held",
      "integrity",
    ]);
    const [row] = await b.database.db
      .select()
      .from(devices)
      .where(and(eq(devices.appId, appId), eq(devices.deviceId, "grouped")));
    expect(row?.infoCount).toBe(3);
    expect(row?.warnCount).toBe(3);
    expect(row?.lastSeen.getTime()).toBe(baseTs + 21);
  });
});
