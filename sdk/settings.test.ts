// Remote logging control in the Node SDK, against a real local HTTP edge stub: a disabled device
// keeps its lines and sends them once enabled, lines below the minimum level are never uploaded,
// a change is picked up within one settings interval, and no answer means upload everything.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { init, type NodeOptions } from "./node.ts";
import { type EdgeStub, startEdgeStub } from "./testing/edge-stub.ts";

let edge: EdgeStub;
const open: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  edge = await startEdgeStub();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.close()));
  await edge.close();
});

function client(options: Partial<NodeOptions> = {}) {
  const created = init({
    appKey: "sl_ingest_test",
    endpoint: edge.url,
    dir: mkdtempSync(path.join(tmpdir(), "stormlog-settings-")),
    flushIntervalMs: 60_000,
    flushOnExit: false,
    settingsIntervalMs: 100,
    device: { appVersion: "2.1.0" },
    ...options,
  });
  open.push(created);
  return created;
}

const texts = () => edge.received.flatMap((call) => call.upload.logs.map((line) => line.text));

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("remote logging control", () => {
  it("keeps lines while disabled and sends them within one interval of being enabled", async () => {
    edge.settings = { enabled: false, minLevel: "trace" };
    const log = client();
    await until(() => !log.settings.enabled);
    expect(edge.settingsAsked[0]).toBe(`/v1/settings?device=${encodeURIComponent(log.deviceInfo.id)}&appVersion=2.1.0`);
    for (const index of [1, 2, 3]) log.info(`held ${index}`);
    expect(await log.flush()).toEqual({ delivered: 0, rejected: 0, pending: 3 });
    expect(edge.received).toEqual([]);

    edge.settings = { enabled: true, minLevel: "trace" };
    await until(() => texts().length === 3);
    expect(texts()).toEqual(["held 1", "held 2", "held 3"]);
    expect(log.settings).toEqual({ enabled: true, minLevel: "trace" });
  });

  it("drops lines below the minimum level, from the first line logged, and follows a change", async () => {
    edge.settings = { enabled: true, minLevel: "warn" };
    const log = client();
    log.debug("early debug"); // logged before the first answer: still obeys it
    log.error("early error");
    await log.ready;
    log.info("info");
    log.warn("warn");
    await log.flush();
    expect(texts()).toEqual(["early error", "warn"]);

    edge.settings = { enabled: true, minLevel: "debug" };
    const asked = edge.settingsAsked.length;
    await until(() => edge.settingsAsked.length > asked + 1);
    log.trace("trace");
    log.debug("debug");
    await log.flush();
    expect(texts()).toEqual(["early error", "warn", "debug"]);
  });

  it("uploads everything when the edge gives no settings, and never asks with settingsIntervalMs 0", async () => {
    edge.settings = null;
    const log = client();
    await log.ready;
    log.trace("kept");
    await log.flush();
    expect(texts()).toEqual(["kept"]);

    const before = edge.settingsAsked.length;
    const quiet = client({ settingsIntervalMs: 0 });
    await quiet.ready;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(edge.settingsAsked.length).toBeLessThanOrEqual(before + 2); // only the first client's polls
    expect(quiet.settings).toEqual({ enabled: true, minLevel: "trace" });
  });
});
