// Issue grouping on both drivers: one group per signature across devices, a replica computing the
// same groups as the origin, resolve-then-recur reopening, a repeat changing nothing, and nothing
// of a title or body in clear in the tables.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { feedbackTag, issueBodyAttr, issueTag } from "../../shared/issues.ts";
import { newErasureId } from "../../shared/lifecycle.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { drivers, testAppId } from "../testing/harness.ts";

const crash = (address: string, line: number) =>
  `TypeError: Cannot read properties of undefined (reading 'secretField') at 0x${address}\n` +
  `    at renderCheckout (https://shop.example/app.js:${line}:17)\n    at main (https://shop.example/app.js:9:1)`;

describe.each(drivers)("issue grouping on %s", (kind) => {
  let cluster: TestCluster;
  let nowMs = baseTs;
  const clock = { now: () => nowMs };
  const node = (name: string) => cluster.node(name).region;

  beforeAll(async () => {
    cluster = await startTestCluster(kind, ["a", "b"], {}, { clock });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  async function registered(): Promise<string> {
    const appId = testAppId();
    for (const name of ["a", "b"]) await node(name).store.upsertApp({ id: appId, name: "issues", keys: [] });
    return appId;
  }

  /** Stores at a, then applies a's sealed copy at b, as replication does. */
  async function put(appId: string, batch: ReturnType<typeof makeBatch>) {
    expect((await node("a").store.put(appId, batch)).ok).toBe(true);
    const sealed = await node("a").replicas.loadSealed([{ appId, batchId: batch.batchId }]);
    for (const copy of sealed) expect((await node("b").replicas.apply(copy)).ok).toBe(true);
  }

  async function groups(name: string, appId: string) {
    const page = await node(name).store.issues(appId, { limit: 50 });
    if (!page.ok) throw new Error(page.error.message);
    return page.value.issues;
  }

  it("groups one crash from two devices, apart from a new signature, the same in every region", async () => {
    const appId = await registered();
    const first = makeBatch({
      deviceId: "phone-1",
      device: { appVersion: "1.0.0" },
      lines: [{ ts: baseTs, level: "fatal", text: crash("7ffd1a2b", 42) }],
    });
    const second = makeBatch({
      deviceId: "phone-2",
      device: { appVersion: "1.1.0" },
      lines: [
        { ts: baseTs + 1000, level: "info", text: "not an issue" },
        { ts: baseTs + 2000, level: "fatal", text: crash("7ffe99c0", 43) },
        {
          ts: baseTs + 3000,
          tag: issueTag,
          text: "Checkout button does nothing",
          attrs: { [issueBodyAttr]: "**steps**" },
        },
      ],
    });
    await put(appId, first);
    await put(appId, second);
    await put(appId, second); // a repeat is a duplicate: nothing counted twice

    for (const name of ["a", "b"]) {
      const listed = await groups(name, appId);
      expect(listed).toHaveLength(2);
      const crashGroup = listed.find((group) => group.type === "crash");
      expect(crashGroup).toMatchObject({
        status: "open",
        count: 2,
        devices: 2,
        appVersions: ["1.0.0", "1.1.0"],
        firstSeen: new Date(baseTs).toISOString(),
        lastSeen: new Date(baseTs + 2000).toISOString(),
        title: expect.stringContaining("TypeError: Cannot read properties"),
      });
      expect(listed.find((group) => group.type === "issue")).toMatchObject({
        count: 1,
        title: "Checkout button does nothing",
      });
      const detail = await node(name).store.issue(appId, crashGroup?.id as string);
      expect(detail?.occurrences).toEqual([
        { deviceId: "phone-2", lineId: `${second.batchId}:1`, ts: new Date(baseTs + 2000).toISOString() },
        { deviceId: "phone-1", lineId: `${first.batchId}:0`, ts: new Date(baseTs).toISOString() },
      ]);
      expect(detail?.sample).toContain("renderCheckout");
    }
    expect((await groups("a", appId)).map((group) => group.id).sort()).toEqual(
      (await groups("b", appId)).map((group) => group.id).sort(),
    );

    // Nothing of a title, body or frame in clear, in any table.
    for (const name of ["a", "b"]) {
      const { rows } = await dumpText(node(name).database.db);
      expect(rows).toContain(first.batchId); // the dump does hold the rows
      for (const secret of ["secretField", "renderCheckout", "Checkout button", "**steps**"]) {
        expect(rows.includes(secret), `${secret} in clear at ${name}`).toBe(false);
      }
    }
  });

  it("takes an erased device's occurrences out, and everything with an erased app", async () => {
    const appId = await registered();
    nowMs = baseTs + 10_000;
    await put(
      appId,
      makeBatch({ deviceId: "erased", lines: [{ ts: baseTs, level: "fatal", text: crash("aa11bb22", 1) }] }),
    );
    await put(
      appId,
      makeBatch({ deviceId: "kept", lines: [{ ts: baseTs + 1, level: "fatal", text: crash("cc33dd44", 2) }] }),
    );
    nowMs += 1000;
    const erasure = { id: newErasureId(), appId, deviceId: "erased", requestedAt: new Date(nowMs).toISOString() };
    await node("a").store.erase(erasure);
    // Sealed under the erased device's key, the title is gone with it; the counts keep the other device.
    expect(await groups("a", appId)).toMatchObject([{ count: 1, devices: 1, title: null }]);
    const [group] = await groups("a", appId);
    expect((await node("a").store.issue(appId, group?.id as string))?.occurrences.map((o) => o.deviceId)).toEqual([
      "kept",
    ]);
    await node("a").store.erase({ ...erasure, id: newErasureId(), deviceId: null });
    expect(await groups("a", appId)).toEqual([]);
  });

  it("drops an expired batch's occurrences with its partition, and keeps the group's counts", async () => {
    const appId = await registered();
    nowMs = baseTs + 10_000;
    await put(appId, makeBatch({ lines: [{ ts: baseTs, tag: issueTag, text: "Expiring" }] }));
    nowMs += 32 * 86_400_000; // past the default 30 days, and past the day's end
    expect((await node("a").store.expire(600_000)).partitionsDropped).toBeGreaterThan(0);
    const [group] = await groups("a", appId);
    expect(group).toMatchObject({ count: 1, title: "Expiring" });
    expect((await node("a").store.issue(appId, group?.id as string))?.occurrences).toEqual([]);
  });

  it("reopens a resolved group when it occurs again, and keeps the latest status change", async () => {
    const appId = await registered();
    nowMs = baseTs + 10_000;
    await put(appId, makeBatch({ lines: [{ ts: baseTs, tag: feedbackTag, text: "Love it", attrs: {} }] }));
    const [group] = await groups("a", appId);
    const id = group?.id as string;
    for (const name of ["a", "b"]) {
      expect(
        await node(name).store.changeIssueStatus(appId, id, { status: "resolved", updatedAt: baseTs + 20_000 }),
      ).toBe("resolved");
      // An older change loses.
      expect(await node(name).store.changeIssueStatus(appId, id, { status: "muted", updatedAt: baseTs + 15_000 })).toBe(
        "resolved",
      );
    }
    nowMs = baseTs + 30_000;
    await put(
      appId,
      makeBatch({ deviceId: "other", lines: [{ ts: baseTs + 29_000, tag: feedbackTag, text: "Love it" }] }),
    );
    for (const name of ["a", "b"]) {
      expect(await groups(name, appId)).toMatchObject([{ id, status: "open", count: 2, devices: 2 }]);
    }
    expect(await node("a").store.changeIssueStatus(appId, "0".repeat(24), { status: "muted", updatedAt: nowMs })).toBe(
      null,
    );
  });
});

/** Every row of the issue tables as text (bytea as escaped text), to search for content in clear. */
async function dumpText(db: TestCluster["nodes"][number]["region"]["database"]["db"]) {
  const result = await db.execute(
    sql`select (select coalesce(string_agg(t::text, ' '), '') from issue_groups t) ||
      (select coalesce(string_agg(encode(t.title_ciphertext, 'escape') || encode(t.sample_ciphertext, 'escape'), ' '), '') from issue_groups t) ||
      (select coalesce(string_agg(t::text, ' '), '') from issue_occurrences t) ||
      (select coalesce(string_agg(t::text, ' '), '') from issue_devices t) as dump`,
  );
  const rows = (result as unknown as { rows?: { dump: string }[] }).rows ?? (result as unknown as { dump: string }[]);
  return { rows: rows[0]?.dump ?? "" };
}
