/**
 * The bad-input corpus (test/bad-input.ts) through the real edge into real regions: uploads, OTLP,
 * Bugfender and reads. No answer is a 5xx, nothing is stored or spooled, every region is still `up`
 * in the edge's health with its breaker closed, and every region's own health says `up`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Cluster, verify } from "../../regional/admin/cluster.ts";
import type { DeviceRecord } from "../../shared/read.ts";
import { badConsoleReads } from "../bad-console-reads.ts";
import {
  type BodyCase,
  badBugfenderLogs,
  badBugfenderSessions,
  badOtlp,
  badReads,
  badUploads,
  badUtf8Bodies,
} from "../bad-input.ts";
import { waitFor } from "../harness.ts";
import { type JoinedSystem, joinSystem } from "./system.ts";

let system: JoinedSystem;
let cluster: Cluster;

beforeAll(async () => {
  system = await joinSystem("bad-input");
  cluster = system.cluster;
});

type Answer = { name: string; status: number; body: Record<string, unknown> | null; text: string };

async function send(name: string, pathAndQuery: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(`${system.edgeUrl}${pathAndQuery}`, init);
  const text = await response.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text);
  } catch {}
  return { name, status: response.status, body, text: text.slice(0, 200) };
}

const post =
  (key: string, keyHeader = "authorization") =>
  (entry: BodyCase | { name: string; body: Uint8Array }) => ({
    method: "POST",
    headers: {
      [keyHeader]: keyHeader === "authorization" ? `Bearer ${key}` : key,
      "content-type": ("contentType" in entry && entry.contentType) || "application/json",
    },
    body: entry.body as BodyInit,
  });

const isRefusal = (answer: Answer) =>
  answer.status >= 400 && answer.status < 500 && typeof (answer.body?.error as { code?: unknown })?.code === "string";
const describeAnswer = (answer: Answer) => `${answer.name}: ${answer.status} ${answer.text}`;

async function storedState() {
  const verification = await verify(cluster);
  const devices = await fetch(`${system.edgeUrl}/v1/devices`, {
    headers: { authorization: `Bearer ${system.app.readKey}` },
  });
  return {
    batches: Object.values(verification.regions).map((region) => ("batches" in region ? region.batches : -1)),
    devices: ((await devices.json()) as { devices: DeviceRecord[] }).devices.map((device) => device.id),
  };
}

describe("the bad-input corpus through the edge", () => {
  it("gets no 5xx, stores and spools nothing, and leaves every region up", async () => {
    const { ingestKey, readKey } = system.app;
    // Files before this one shared the system: let what they sent finish replicating, so that
    // only this corpus could change the count.
    await waitFor(
      "every region holding the same batches",
      async () => (await verify(cluster)).converged || null,
      30_000,
    );
    const before = await storedState();

    const session = await send("session", "/bugfender/session", {
      ...post(ingestKey, "x-app-token")({ name: "session", body: `{"device":{"udid":"corpus-bf"}}` }),
    });
    expect(session.status).toBe(200);
    const sessionId = String(session.body?.id);

    const answers: { kind: string; answer: Answer }[] = [];
    const run = async (
      kind: string,
      path: string,
      entries: (BodyCase | { name: string; body: Uint8Array })[],
      key: string,
      header?: string,
    ) => {
      for (const entry of entries)
        answers.push({ kind, answer: await send(entry.name, path, post(key, header)(entry)) });
    };
    await run("upload", "/v1/batches", [...badUploads(), ...badUtf8Bodies()], ingestKey);
    await run("otlp", "/v1/logs", badOtlp(), ingestKey);
    await run("bugfender", "/bugfender/session", badBugfenderSessions(), ingestKey, "x-app-token");
    await run("bugfender", "/bugfender/log/batch", badBugfenderLogs(sessionId), ingestKey, "x-app-token");
    for (const entry of badReads()) {
      const answer = await send(entry.name, `/v1/logs?${entry.query}`, {
        headers: { authorization: `Bearer ${readKey}` },
      });
      answers.push({ kind: "read", answer });
    }
    const edgePaths = { devices: "/v1/devices", volume: "/v1/stats/volume", tail: "/v1/tail" };
    for (const entry of badConsoleReads()) {
      const answer = await send(entry.name, `${edgePaths[entry.resource]}?${entry.query}`, {
        headers: { authorization: `Bearer ${readKey}` },
      });
      answers.push({ kind: "read", answer });
    }

    expect(answers.filter(({ answer }) => answer.status >= 500).map(({ answer }) => describeAnswer(answer))).toEqual(
      [],
    );
    // Uploads and reads are refused outright; the adapters may answer 200 with every line rejected.
    const accepted = answers.filter(({ kind, answer }) => {
      if (isRefusal(answer)) return false;
      if (kind === "otlp") return !(answer.status === 200 && answer.body?.partialSuccess);
      if (kind === "bugfender") return !(answer.status === 200 && answer.body?.accepted === 0);
      return true;
    });
    expect(accepted.map(({ kind, answer }) => `${kind} ${describeAnswer(answer)}`)).toEqual([]);

    expect(await storedState()).toEqual(before);

    const health = await fetch(`${system.edgeUrl}/v1/health`);
    const view = (await health.json()) as { regions: { name: string; status: string; breaker: string }[] };
    expect(view.regions.map(({ name, status, breaker }) => ({ name, status, breaker }))).toEqual(
      system.regions.map(({ name }) => ({ name, status: "up", breaker: "closed" })),
    );
    for (const region of system.regions) {
      const own = await fetch(`${region.url}/v1/health`);
      expect(own.status).toBe(200);
      expect(await own.json()).toMatchObject({ status: "up" });
    }
  });
});
