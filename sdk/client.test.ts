// The Node SDK end to end against a real local HTTP server: the durable file queue, batching,
// idempotent retries, backoff, refusals, level-aware eviction with gap markers, and exit.
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LogLine } from "../shared/batch.ts";
import { occurrenceOf } from "../shared/issues.ts";
import { journalFileName } from "./file-journal.ts";
import { init, type NodeOptions } from "./node.ts";
import { gapTag } from "./queue.ts";
import { type EdgeStub, startEdgeStub } from "./testing/edge-stub.ts";
import { backoffMs, retryAfterMs } from "./upload.ts";

let edge: EdgeStub;
let dir: string;
const open: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  edge = await startEdgeStub();
  dir = mkdtempSync(path.join(tmpdir(), "stormlog-sdk-"));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.close()));
  await edge.close();
});

function client(options: Partial<NodeOptions> = {}) {
  const created = init({
    appKey: "sl_ingest_test",
    endpoint: edge.url,
    dir,
    flushIntervalMs: 60_000,
    flushOnExit: false,
    ...options,
  });
  open.push(created);
  return created;
}

async function reopen(previous: { close(): Promise<void> }, options: Partial<NodeOptions> = {}) {
  await previous.close();
  open.splice(open.indexOf(previous), 1);
  return client(options);
}

const texts = () => edge.received.flatMap((call) => call.upload.logs.map((line) => line.text));

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the durable queue", () => {
  it("keeps lines on disk while the edge is unreachable and sends them after a restart", async () => {
    const offline = client({ endpoint: "http://127.0.0.1:9" });
    for (let index = 0; index < 3; index++) offline.warn(`offline ${index}`, { tag: "net", attrs: { index } });
    expect(await offline.flush()).toEqual({ delivered: 0, rejected: 0, pending: 3 });
    const deviceId = offline.deviceInfo.id;

    const online = await reopen(offline);
    await online.ready;
    expect(online.pending.lines).toBe(3);
    expect(online.deviceInfo.id).toBe(deviceId);
    expect(await online.flush()).toEqual({ delivered: 3, rejected: 0, pending: 0 });
    expect(texts()).toEqual(["offline 0", "offline 1", "offline 2"]);
    expect(edge.received[0]?.upload.logs[1]).toMatchObject({ level: "warn", tag: "net", attrs: { index: 1 } });
    expect(edge.received[0]?.upload.device).toMatchObject({ id: deviceId, os: process.platform });
    expect(edge.received[0]?.headers.authorization).toBe("Bearer sl_ingest_test");

    const after = await reopen(online);
    await after.ready;
    expect(after.pending.lines).toBe(0);
  });

  it("drops a torn last write and keeps everything before it", async () => {
    const first = client({ endpoint: "http://127.0.0.1:9" });
    first.info("one");
    first.info("two");
    await first.close();
    open.splice(0);
    appendFileSync(path.join(dir, journalFileName), '{"t":"add","e":{"seq":3,"ts":17');

    const second = client();
    await second.ready;
    expect(second.pending.lines).toBe(2);
    second.info("three");
    await second.persisted();
    const lines = readFileSync(path.join(dir, journalFileName), "utf8").trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line).t)).toEqual(["dev", "add", "add", "add"]);
    await second.flush();
    expect(texts()).toEqual(["one", "two", "three"]);
  });
});

describe("compaction", () => {
  it("keeps the journal small once lines are delivered, and a restart still sees the same state", async () => {
    const log = client({ batchLinesMax: 500 });
    edge.script({ status: 400, body: { error: { code: "INVALID_BODY", message: "kept on record" } } });
    for (let round = 0; round < 6; round++) {
      for (let index = 0; index < 500; index++) log.info(`round ${round} line ${index} ${"z".repeat(400)}`);
      await log.flush();
    }
    log.warn("still queued");
    await log.persisted();
    // 3000 lines of ~450 bytes went through; without compaction the journal would hold them all.
    const journalBytes = readFileSync(path.join(dir, journalFileName)).byteLength;
    expect(journalBytes).toBeLessThan(1024 * 1024 + 300 * 1024);
    expect([...edge.stored.values()].flatMap((upload) => upload.logs)).toHaveLength(2500);

    const restarted = await reopen(log, { endpoint: "http://127.0.0.1:9" });
    await restarted.ready;
    expect(restarted.pending.lines).toBe(1);
    expect(restarted.rejections).toEqual([expect.objectContaining({ code: "INVALID_BODY", lines: 500 })]);
  });
});

describe("issues", () => {
  it("sends reported issues, feedback and uncaught errors as lines a region groups", async () => {
    const log = client();
    log.issue("Checkout fails", "Tapped **Pay**");
    log.feedback("Love the new UI", "but dark mode please");
    // What captureErrors sends for an uncaught error (node.ts): its stack, as a fatal line.
    log.fatal(new TypeError("x is undefined").stack ?? "", { tag: "uncaught" });
    await log.flush();
    const occurrences = edge.received.flatMap((call) => call.upload.logs.map((line) => occurrenceOf(line as LogLine)));
    expect(occurrences).toMatchObject([
      { type: "issue", title: "Checkout fails", body: "Tapped **Pay**" },
      { type: "feedback", title: "Love the new UI", body: "but dark mode please" },
      { type: "crash", title: "TypeError: x is undefined" },
    ]);
  });
});

describe("batching", () => {
  it("splits by lines and bytes, oldest first", async () => {
    const log = client({ batchLinesMax: 4 });
    for (let index = 0; index < 10; index++) log.debug(`line ${index}`);
    await log.flush();
    expect(edge.received.map((call) => call.upload.logs.length)).toEqual([4, 4, 2]);
    expect(texts()).toEqual(Array.from({ length: 10 }, (_, index) => `line ${index}`));

    const bytes = client({ batchBytesMax: 600, dir: mkdtempSync(path.join(tmpdir(), "stormlog-sdk-")) });
    for (let index = 0; index < 6; index++) bytes.info("x".repeat(200));
    await bytes.flush();
    expect(edge.received.slice(3).map((call) => call.upload.logs.length)).toEqual([2, 2, 2]);
  });

  it("sends a full batch at once and a partial one after flushIntervalMs", async () => {
    const log = client({ batchLinesMax: 3, flushIntervalMs: 300 });
    for (let index = 0; index < 4; index++) log.info(`line ${index}`);
    await until(() => edge.received.length === 1);
    expect(edge.received[0]?.upload.logs).toHaveLength(3);
    const fullAt = Date.now();
    await until(() => edge.received.length === 2);
    expect(Date.now() - fullAt).toBeGreaterThanOrEqual(200);
    expect(edge.received[1]?.upload.logs.map((line) => line.text)).toEqual(["line 3"]);
  });

  it("makes text the edge would refuse storable, and drops attrs too deep or not JSON", async () => {
    const log = client({ device: { model: "Pixel\u0000" } });
    let deep: unknown = 1;
    for (let level = 0; level < 20; level++) deep = [deep];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.info("a\u0000b\ud800c", { tag: "t\udc00", attrs: { "k\u0000": ["v\ud83d", { ok: "😀" }] } });
    log.info("deep", { attrs: { deep } as never });
    log.info("cyclic", { attrs: cyclic as never });
    await log.flush();
    const [call] = edge.received;
    expect(call?.upload.device.model).toBe("Pixel\uFFFD");
    expect(call?.upload.logs.map(({ text, tag, attrs }) => ({ text, tag, attrs }))).toEqual([
      { text: "a\uFFFDb\uFFFDc", tag: "t\uFFFD", attrs: { "k\uFFFD": ["v\uFFFD", { ok: "😀" }] } },
      {
        text: "deep",
        tag: undefined,
        attrs: { "stormlog.attrsDropped": expect.stringMatching(/deeper than 16|not JSON/) },
      },
      { text: "cyclic", tag: undefined, attrs: { "stormlog.attrsDropped": "attrs are not JSON" } },
    ]);
  });

  it("cuts a line the edge would refuse instead of blocking the queue", async () => {
    const log = client();
    log.error("é".repeat(20_000), { attrs: { blob: "y".repeat(5000) }, tag: "t".repeat(300) });
    await log.flush();
    const [line] = edge.received[0]?.upload.logs ?? [];
    expect(Buffer.byteLength(line?.text ?? "")).toBeLessThanOrEqual(16 * 1024);
    expect(line?.text).toMatch(/truncated by stormlog\]$/);
    expect(line?.attrs).toEqual({ "stormlog.attrsDropped": expect.any(String) });
    expect(line?.tag).toHaveLength(256);
  });
});

describe("call sites", () => {
  it("records the method, file and line that logged when asked to", async () => {
    const log = client({ callSite: true });
    function checkout() {
      log.warn("from checkout");
      log.log("error", "through log()");
    }
    checkout();
    log.info("explicit", { method: "given", file: "given.ts", line: 7 });
    await log.flush();
    const [warn, error, explicit] = edge.received[0]?.upload.logs ?? [];
    expect(warn).toMatchObject({ method: "checkout", file: expect.stringMatching(/sdk\/client\.test\.ts$/) });
    expect(error).toMatchObject({ method: "checkout", line: (warn?.line ?? 0) + 1 });
    expect(explicit).toMatchObject({ method: "given", file: "given.ts", line: 7 });
  });
});

describe("retries", () => {
  it("resends the same batch id and bytes, also after a restart, and deletes only after 202", async () => {
    const log = client();
    log.info("a");
    log.error("b");
    edge.script({ status: 503, headers: { "retry-after": "1" }, body: { error: { code: "REGION_UNAVAILABLE" } } });
    expect(await log.flush()).toMatchObject({ delivered: 0, pending: 2 });

    // The edge stored it but the answer was lost: the retry must be recognisable as the same batch.
    edge.script({ status: 504 });
    const restarted = await reopen(log);
    expect(await restarted.flush()).toMatchObject({ delivered: 0, pending: 2 });
    expect(await restarted.flush()).toMatchObject({ delivered: 2, pending: 0 });
    const [first, second, third] = edge.received;
    expect(second?.upload.batchId).toBe(first?.upload.batchId);
    expect(third?.body).toBe(first?.body);
    expect(third?.headers["x-request-id"]).toBe(first?.upload.batchId);
    expect(edge.stored.size).toBe(1);
  });

  it("treats a spooled answer as delivered", async () => {
    const log = client();
    log.info("spooled");
    edge.script({ status: 202, body: { spooled: true, batchId: "x" } });
    expect(await log.flush()).toMatchObject({ delivered: 1, pending: 0 });
  });

  it("backs off exponentially with jitter and never before Retry-After", async () => {
    const log = client({ backoffBaseMs: 100, random: () => 0.5 });
    edge.script({ status: 503 }, { status: 500 }, { status: 502 }, { status: 429, headers: { "retry-after": "1" } });
    log.info("persistent");
    await log.flush();
    await until(() => edge.stored.size === 1);
    const at = edge.received.map((call) => call.at);
    const gaps = at.slice(1).map((time, index) => time - (at[index] as number));
    // 100 ms doubling, half of it jittered (random 0.5 → 75 %): 75, 150, 300, then Retry-After 1 s.
    expect(gaps[0]).toBeGreaterThanOrEqual(70);
    expect(gaps[1]).toBeGreaterThanOrEqual(145);
    expect(gaps[2]).toBeGreaterThanOrEqual(295);
    expect(gaps[3]).toBeGreaterThanOrEqual(995);
    expect(new Set(edge.received.map((call) => call.upload.batchId)).size).toBe(1);
  });

  it("computes delays within bounds", () => {
    const options = { baseMs: 1000, maxMs: 60_000, retryAfterMs: null };
    expect(backoffMs(1, { ...options, random: () => 0 })).toBe(500);
    expect(backoffMs(3, { ...options, random: () => 1 })).toBe(4000);
    expect(backoffMs(30, { ...options, random: () => 1 })).toBe(60_000);
    expect(backoffMs(1, { ...options, retryAfterMs: 7000, random: () => 1 })).toBe(7000);
    expect(retryAfterMs("12")).toBe(12_000);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(retryAfterMs("soon")).toBeNull();
  });

  it.each([400, 401, 413])("does not retry a %i, and keeps a record of what was refused and why", async (status) => {
    const log = client({ backoffBaseMs: 10 });
    log.info("refused 1");
    log.info("refused 2");
    edge.script({ status, body: { error: { code: `CODE_${status}`, message: `why ${status}` } } });
    expect(await log.flush()).toEqual({ delivered: 0, rejected: 2, pending: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(edge.received).toHaveLength(1);
    const record = { status, code: `CODE_${status}`, message: `why ${status}`, lines: 2 };
    expect(log.rejections).toEqual([expect.objectContaining(record)]);

    const restarted = await reopen(log);
    await restarted.ready;
    expect(restarted.rejections).toEqual([expect.objectContaining(record)]);
    expect(restarted.pending.lines).toBe(0);
  });
});

describe("eviction at the byte cap", () => {
  it("drops trace and debug first, never errors, and uploads a gap marker with the counts", async () => {
    const log = client({ queueBytesMax: 6000, endpoint: "http://127.0.0.1:9" });
    const logged = { debug: 0, trace: 0, error: 0 };
    for (let index = 0; index < 60; index++) {
      const level = index % 6 === 0 ? "error" : index % 2 === 0 ? "trace" : "debug";
      logged[level] += 1;
      log.log(level, `${level} ${index} ${"x".repeat(60)}`);
    }
    expect(log.pending.bytes).toBeLessThanOrEqual(6000 + 400);
    const restarted = await reopen(log, { endpoint: edge.url });
    await restarted.flush();

    const lines = edge.received.flatMap((call) => call.upload.logs);
    const gaps = lines.filter((line) => line.tag === gapTag);
    expect(gaps).toHaveLength(1);
    const gap = gaps[0]?.attrs?.[gapTag] as { dropped: Record<string, number>; from: number; to: number };
    const delivered = (level: string) => lines.filter((line) => line.level === level && line.tag !== gapTag).length;
    expect(delivered("error")).toBe(logged.error);
    expect(gap.dropped.error).toBeUndefined();
    expect(delivered("trace") + (gap.dropped.trace ?? 0)).toBe(logged.trace);
    expect(delivered("debug") + (gap.dropped.debug ?? 0)).toBe(logged.debug);
    // Trace goes before debug: no debug line is dropped while a trace line is kept.
    if (delivered("trace") > 0) expect(gap.dropped.debug ?? 0).toBe(0);
    expect(gap.from).toBeLessThanOrEqual(gap.to);
    expect(gaps[0]).toMatchObject({ level: "warn", text: expect.stringMatching(/^stormlog dropped \d+ log lines/) });
  });

  it("drops a new debug line rather than an older error", async () => {
    const log = client({ queueBytesMax: 1000, endpoint: "http://127.0.0.1:9" });
    for (let index = 0; index < 20; index++) log.error(`error ${index} ${"x".repeat(40)}`);
    log.debug(`late debug ${"x".repeat(150)}`);
    const restarted = await reopen(log, { endpoint: edge.url });
    await restarted.flush();
    const lines = edge.received.flatMap((call) => call.upload.logs);
    expect(lines.some((line) => line.text.startsWith("late debug"))).toBe(false);
    const gap = lines.find((line) => line.tag === gapTag)?.attrs?.[gapTag] as { dropped: Record<string, number> };
    expect(gap.dropped).toMatchObject({ debug: 1 });
    // Errors beyond the cap go oldest first, and are counted too.
    const errors = lines.filter((line) => line.level === "error").length;
    expect(errors + (gap.dropped.error ?? 0)).toBe(20);
  });
});

describe("process exit", () => {
  // Not spawnSync: the stand-in edge runs in this process and must keep answering.
  const run = (mode: string) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [
        path.join(import.meta.dirname, "testing/exit-app.ts"),
        dir,
        edge.url,
        mode,
      ]);
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      child.on("exit", (status) => resolve({ status, stderr }));
    });

  it("flushes when the event loop runs dry", async () => {
    const result = await run("drain");
    expect(result.status, result.stderr).toBe(0);
    expect(texts()).toEqual(Array.from({ length: 5 }, (_, index) => `drain line ${index}`));
  });

  it("keeps every line through process.exit() and a crash, and sends them on the next start", async () => {
    expect((await run("exit")).status).toBe(0);
    expect((await run("crash")).status).not.toBe(0);
    const next = client();
    await next.flush();
    // By batch id, as the edge stores them: the crashing run may have sent the first run's batch
    // before it died without recording it, and then the same batch goes again (a duplicate).
    const sent = [...edge.stored.values()].flatMap((upload) => upload.logs.map((line) => line.text));
    for (let index = 0; index < 5; index++) {
      expect(sent.filter((text) => text === `exit line ${index}` || text === `crash line ${index}`)).toHaveLength(2);
    }
    const fatal = edge.received.flatMap((call) => call.upload.logs).find((line) => line.level === "fatal");
    expect(fatal).toMatchObject({ tag: "uncaught", text: expect.stringContaining("boom") });
  });
});

describe("console capture", () => {
  it("queues console calls at their level, errors with their stack, and still prints them", async () => {
    const printed: unknown[][] = [];
    const original = { warn: console.warn, error: console.error };
    console.warn = (...args: unknown[]) => printed.push(args);
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      const captured = client({ captureConsole: true });
      console.warn("disk almost full", { freeMb: 12 });
      console.error(new Error("write failed"));
      await captured.flush();
    } finally {
      // captureConsole wrapped the stand-ins above; put the real methods back.
      Object.assign(console, original);
    }
    const lines = edge.received.flatMap((call) => call.upload.logs);
    expect(lines.map((line) => [line.level, line.tag])).toEqual([
      ["warn", "console"],
      ["error", "console"],
    ]);
    expect(lines[0]?.text).toBe('disk almost full {"freeMb":12}');
    expect(lines[1]?.text).toMatch(/^Error: write failed\n\s+at /);
    expect(printed).toHaveLength(2);
  });
});
