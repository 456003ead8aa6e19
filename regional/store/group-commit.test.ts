// Group commit: uploads arriving together share one transaction, and nothing about one upload
// changes for it: each id is stored once, a repeat is a duplicate, other content a conflict, a
// device row sums its batches, and a batch the database refuses fails alone.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { batches, devices } from "../db/schema/index.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId, useTestRegion } from "../testing/harness.ts";

describe.each(drivers)("group commit on %s", (kind) => {
  const t = useTestRegion(kind);

  async function groups() {
    const metric = await t.region.metrics.groupBatches.get();
    const count = metric.values.find((value) => value.metricName?.endsWith("_count"))?.value ?? 0;
    const sum = metric.values.find((value) => value.metricName?.endsWith("_sum"))?.value ?? 0;
    return { count, sum };
  }

  it("commits uploads arriving together in fewer transactions, each device written with their sums", async () => {
    const appId = testAppId();
    const before = await groups();
    const sent = Array.from({ length: 24 }, (_, index) =>
      makeBatch({
        deviceId: `device-${index % 2}`,
        device: { name: `phone ${index}` },
        lines: [
          { ts: baseTs + index * 10, level: "info" },
          { ts: baseTs + index * 10 + 5, level: "error", text: `failure ${index}` },
        ],
      }),
    );
    const results = await Promise.all(sent.map((batch) => t.region.store.put(appId, batch)));
    expect(results.every((result) => result.ok && !result.value.duplicate)).toBe(true);
    const after = await groups();
    expect(after.sum - before.sum).toBe(24);
    expect(after.count - before.count).toBeLessThan(24);

    const rows = await t.region.database.db.select().from(devices).where(eq(devices.appId, appId));
    expect(rows.map((row) => row.deviceId).sort()).toEqual(["device-0", "device-1"]);
    for (const row of rows) {
      expect(row.infoCount).toBe(12);
      expect(row.errorCount).toBe(12);
      expect(row.batchSpanMsMax).toBe(5);
    }
    // Its info is the one sent with its latest lines, its span all of its batches'.
    const last = rows.find((row) => row.deviceId === "device-1");
    expect(last?.name).toBe("phone 23");
    expect(last?.firstSeen.getTime()).toBe(baseTs + 10);
    expect(last?.lastSeen.getTime()).toBe(baseTs + 235);
  });

  it("stores one id once when it arrives many times at once: the rest are duplicates, other content a conflict", async () => {
    const appId = testAppId();
    const batch = makeBatch({ lines: [{ ts: baseTs, text: "once" }] });
    const other = { ...batch, logs: [{ ...batch.logs[0], text: "other" }] } as typeof batch;
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () => t.region.store.put(appId, batch)),
      t.region.store.put(appId, other),
    ]);
    const stored = await t.region.database.db
      .select({ batchId: batches.batchId })
      .from(batches)
      .where(and(eq(batches.appId, appId), eq(batches.batchId, batch.batchId)));
    expect(stored).toHaveLength(1);
    const fresh = results.filter((result) => result.ok && !result.value.duplicate);
    expect(fresh).toHaveLength(1);
    // Whichever content went in first, the same content again is a duplicate and the other a conflict.
    const sameAsStored = results[5]?.ok ? "other" : "batch";
    const kinds = results.map((result) =>
      result.ok ? (result.value.duplicate ? "duplicate" : "stored") : result.error.kind,
    );
    if (sameAsStored === "batch") {
      expect(kinds.slice(0, 5).sort()).toEqual(["duplicate", "duplicate", "duplicate", "duplicate", "stored"]);
      expect(kinds[5]).toBe("conflict");
    } else {
      expect(kinds.slice(0, 5)).toEqual(["conflict", "conflict", "conflict", "conflict", "conflict"]);
    }
  });

  it("fails only the batch the database refuses when it shares a group with others", async () => {
    const appId = testAppId();
    const good = Array.from({ length: 8 }, (_, index) => makeBatch({ lines: [{ ts: baseTs + index }] }));
    // A line time PostgreSQL cannot hold (before 4713 BC): the batch's row is refused.
    const bad = makeBatch({ lines: [{ ts: -8.6e15 }] });
    const before = await groups();
    const results = await Promise.allSettled([
      ...good.slice(0, 4).map((batch) => t.region.store.put(appId, batch)),
      t.region.store.put(appId, bad),
      ...good.slice(4).map((batch) => t.region.store.put(appId, batch)),
    ]);
    expect(results[4]?.status).toBe("rejected");
    const others = [...results.slice(0, 4), ...results.slice(5)];
    expect(others.every((result) => result.status === "fulfilled" && result.value.ok)).toBe(true);
    const stored = await t.region.database.db
      .select({ batchId: batches.batchId })
      .from(batches)
      .where(eq(batches.appId, appId));
    expect(stored.map((row) => row.batchId).sort()).toEqual(good.map((batch) => batch.batchId).sort());
    // The bad one did share a group (the fallback then committed each alone).
    const after = await groups();
    expect(after.count - before.count).toBeLessThan(9);
  });
});
