// Issue webhooks end to end on a two-region cluster, with a real local HTTP receiver: each event
// (a new group, new feedback, a reopened group) arrives once across the regions, from the region
// the batch arrived at, signed so the receiver can verify it; an event answered with 500 arrives
// again after the backoff.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../shared/clock.ts";
import { feedbackTag, issueBodyAttr, webhookSignature } from "../../shared/issues.ts";
import { adminPaths } from "../../shared/regions.ts";
import { uploadTo } from "../testing/calls.ts";
import { startTestCluster, type TestCluster } from "../testing/cluster.ts";
import { baseTs, makeBatch } from "../testing/fixtures.ts";
import { adminRequest, drivers, testAppId } from "../testing/harness.ts";
import { createWebhookSender, type WebhookSender } from "./sender.ts";

type Delivery = { type: string; title: string; signature: string; body: string; answered: number };

const crash = "RangeError: Invalid array length\n    at grow (https://app.example/main.js:120:5)";
const secret = "whsec_test_0123456789abcdef";

describe.each(drivers)("issue webhooks on %s", (kind) => {
  let cluster: TestCluster;
  let receiver: Server;
  let url: string;
  const deliveries: Delivery[] = [];
  let failNext = 0;
  // The regions' own senders, with a backoff of milliseconds so the test need not wait.
  const senders = new Map<string, WebhookSender>();
  const region = (name: string) => cluster.node(name).region;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const parsed = JSON.parse(body) as { type: string; issue: { title: string } };
        const answered = failNext > 0 ? 500 : 200;
        if (failNext > 0) failNext -= 1;
        const signature = String(req.headers["stormlog-signature"] ?? "");
        deliveries.push({ type: parsed.type, title: parsed.issue.title, signature, body, answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    cluster = await startTestCluster(kind, ["a", "b"]);
    for (const name of ["a", "b"]) {
      const { webhookStore, logger } = region(name);
      const backoff = { baseMs: 20, maxMs: 40 };
      senders.set(name, createWebhookSender({ store: webhookStore, logger, clock: systemClock, backoff }));
    }
  });
  afterAll(async () => {
    await cluster?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function sendAll() {
    for (const name of ["a", "b"]) await senders.get(name)?.runOnce();
  }

  it("sends each event once across regions, signed, and again after a 500", async () => {
    const appId = testAppId();
    for (const name of ["a", "b"]) {
      await region(name).store.upsertApp({ id: appId, name: "hooked", keys: [] });
      const set = await adminRequest(region(name), "PUT", adminPaths.webhook(appId), {
        json: { url, secret },
        audience: name,
      });
      expect(set.status).toBe(200);
      expect(await set.text()).not.toContain(secret);
    }
    const bad = await adminRequest(region("a"), "PUT", adminPaths.webhook(appId), {
      json: { url: "ftp://x", secret },
      audience: "a",
    });
    expect(bad.status).toBe(400);

    const first = makeBatch({
      deviceId: "phone-1",
      lines: [
        { ts: baseTs, level: "fatal", text: crash },
        { ts: baseTs + 1, tag: feedbackTag, text: "Great app", attrs: { [issueBodyAttr]: "thanks" } },
      ],
    });
    expect((await uploadTo(cluster.node("a"), appId, first)).status).toBe(202);
    // The same crash from another device, arriving at b: no new group, no event.
    const second = makeBatch({ deviceId: "phone-2", lines: [{ ts: baseTs + 2, level: "fatal", text: crash }] });
    expect((await uploadTo(cluster.node("b"), appId, second)).status).toBe(202);

    failNext = 1; // the first delivery is answered 500
    await sendAll();
    expect(deliveries.map(({ type, answered }) => ({ type, answered })).sort(byType)).toEqual([
      { type: "feedback.created", answered: expect.any(Number) },
      { type: "issue.created", answered: expect.any(Number) },
    ]);
    const failed = deliveries.find((delivery) => delivery.answered === 500);
    await new Promise((resolve) => setTimeout(resolve, 60)); // past the backoff
    await sendAll();
    await sendAll();
    expect(deliveries).toHaveLength(3);
    expect(deliveries[2]?.type).toBe(failed?.type);
    expect(deliveries[2]?.answered).toBe(200);

    // Resolved, then the crash again (at b): one "reopened", sent by b.
    const listed = await region("a").store.issues(appId, { limit: 10 });
    const group = listed.ok ? listed.value.issues.find((issue) => issue.type === "crash") : undefined;
    for (const name of ["a", "b"]) {
      expect(
        await region(name).store.changeIssueStatus(appId, group?.id as string, {
          status: "resolved",
          updatedAt: Date.now(),
        }),
      ).toBe("resolved");
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    const third = makeBatch({ deviceId: "phone-3", lines: [{ ts: baseTs + 3, level: "fatal", text: crash }] });
    expect((await uploadTo(cluster.node("b"), appId, third)).status).toBe(202);
    await sendAll();
    await sendAll();
    expect(deliveries.slice(3).map(({ type, title }) => ({ type, title }))).toEqual([
      { type: "issue.reopened", title: "RangeError: Invalid array length" },
    ]);

    // Every request verifies with the secret, as a receiver checks it.
    for (const delivery of deliveries) {
      const t = Number(/^t=(\d+),/.exec(delivery.signature)?.[1]);
      expect(delivery.signature).toBe(await webhookSignature(secret, t, delivery.body));
      expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(600);
    }
  });
});

function byType(left: { type: string }, right: { type: string }): number {
  return left.type.localeCompare(right.type);
}
