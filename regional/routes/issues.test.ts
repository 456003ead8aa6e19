// The issue routes a region serves the edge: a page and one group with a read key, a status
// change with a manage key only, and bad input a 400 with a JSON error naming it.
import { describe, expect, it } from "vitest";
import { issueDetailSchema, issuePageSchema, issueTag } from "../../shared/issues.ts";
import { internalPaths } from "../../shared/regions.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { appWithKeys, drivers, signedRequest, useTestRegion } from "../testing/harness.ts";

describe.each(drivers)("issue routes on %s", (kind) => {
  const t = useTestRegion(kind);

  it("lists, shows and changes a group's status; refuses bad input and the wrong key", async () => {
    const { appId, keys } = await appWithKeys(t.region, "issues app");
    const batch = makeBatch({ deviceId: "tablet", lines: [{ ts: baseTs, tag: issueTag, text: "Sync stalls" }] });
    expect((await t.region.store.put(appId, batch)).ok).toBe(true);

    const listed = await signedRequest(t.region.app, "GET", `${internalPaths.issues(appId)}?status=open`, {
      appKey: keys.read,
    });
    expect(listed.status).toBe(200);
    const [group] = issuePageSchema.parse(await listed.json()).issues;
    expect(group).toMatchObject({ type: "issue", title: "Sync stalls", count: 1, devices: 1 });
    const id = group?.id as string;

    const shown = await signedRequest(t.region.app, "GET", internalPaths.issue(appId, id), { appKey: keys.read });
    expect(issueDetailSchema.parse(await shown.json()).occurrences).toEqual([
      { deviceId: "tablet", lineId: `${batch.batchId}:0`, ts: new Date(baseTs).toISOString() },
    ]);

    const change = { status: "muted", updatedAt: Date.now() };
    const refused = await signedRequest(t.region.app, "PUT", internalPaths.issue(appId, id), {
      appKey: keys.read,
      json: change,
    });
    expect(refused.status).toBe(403);
    const changed = await signedRequest(t.region.app, "PUT", internalPaths.issue(appId, id), {
      appKey: keys.manage,
      json: change,
    });
    expect(await changed.json()).toEqual({ id, status: "muted" });

    for (const [path, body] of [
      [internalPaths.issue(appId, id), { status: "gone", updatedAt: 1 }],
      [internalPaths.issue(appId, id), { status: "open" }],
      [internalPaths.issue(appId, "nope"), change],
    ] as const) {
      const answer = await signedRequest(t.region.app, "PUT", path, { appKey: keys.manage, json: body });
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({ error: { code: expect.stringMatching(/BAD_REQUEST|INVALID_BODY/) } });
    }
    const badCursor = await signedRequest(t.region.app, "GET", `${internalPaths.issues(appId)}?cursor=zzz`, {
      appKey: keys.read,
    });
    expect(badCursor.status).toBe(400);
    // The app's webhook, set from the edge with a manage key only.
    const hook = { url: "https://hooks.example/x", secret: "whsec_0123456789abcdef" };
    for (const [key, status] of [
      [keys.read, 403],
      [keys.manage, 200],
    ] as const) {
      const set = await signedRequest(t.region.app, "PUT", internalPaths.webhook(appId), { appKey: key, json: hook });
      expect(set.status).toBe(status);
    }
    expect(await t.region.webhookStore.webhook(appId)).toEqual(hook);
    const unknown = await signedRequest(t.region.app, "GET", internalPaths.issue(appId, "f".repeat(24)), {
      appKey: keys.read,
    });
    expect(unknown.status).toBe(404);
  });
});
