/**
 * The Stormlog client, the same on every platform (node.ts and browser.ts give it a journal and
 * device info). A log call is synchronous: the line joins the in-memory queue at once and its op
 * is written to the journal in the next write (writes are grouped, one fsync or one IndexedDB
 * transaction each). Uploading runs on its own: a batch goes when a full one is waiting, when the
 * oldest line has waited `flushIntervalMs`, or on `flush()`; one batch is in flight at a time, and
 * its id is durable before its first attempt, so a retry, even after a restart, is the same batch.
 *
 * Remote logging control (settings.ts): the device asks the edge for its settings at start and
 * every `settingsIntervalMs`. A line below the minimum level is dropped when logged; while logging
 * is disabled, lines stay in the local queue (within `queueBytesMax`, evicting as usual) and go
 * once it is enabled again. The first upload waits for the first answer (at most
 * `firstSettingsWaitMs`), and lines queued below the minimum level are dropped before a batch is
 * made, so lines logged at start (or queued by an earlier run) obey the settings too.
 */
import { callSite } from "./callsite.ts";
import { bounded, clean, storable } from "./line.ts";
import { gapTag, LocalQueue } from "./queue.ts";
import { defaultRemoteSettings, fetchSettings, type RemoteSettings } from "./settings.ts";
import {
  type Attrs,
  type Device,
  type Entry,
  type Journal,
  type Level,
  levelRank,
  type Op,
  type Rejection,
} from "./types.ts";
import { backoffMs, type Outcome, upload } from "./upload.ts";

// The issue convention of shared/issues.ts, repeated here: the SDK is a package of its own.
const issueTag = "stormlog.issue";
const feedbackTag = "stormlog.feedback";
const issueBodyAttr = "stormlog.body";

export type StormlogOptions = {
  /** The app's ingest key (`sl_ingest_…`). */
  appKey: string;
  /** The edge's base URL, e.g. `https://logs.example.com`. */
  endpoint: string;
  /** Device info to send (the id is generated once and kept with the queue unless given here). */
  device?: Partial<Device>;
  /** Bytes the local queue may hold before it evicts (default 5 MiB). */
  queueBytesMax?: number;
  /** Lines per batch (default 500; the edge takes up to 1000). */
  batchLinesMax?: number;
  /** Bytes per batch before compression (default 512 KiB; the edge takes up to 1 MiB). */
  batchBytesMax?: number;
  /** How long a line may wait for a full batch before it is sent anyway (default 10 s). */
  flushIntervalMs?: number;
  /** First retry delay (default 1 s), doubling up to `backoffMaxMs` (default 5 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** One upload attempt's time limit (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * How often to ask the edge whether this device may upload, and from which level (default
   * 5 min; 0 never asks, and the device uploads everything).
   */
  settingsIntervalMs?: number;
  /** Record method, file and line of each call from a stack trace (costs a stack per line). */
  callSite?: boolean;
  /** Called when the journal cannot be written; logging itself never throws. */
  onError?: (error: unknown) => void;
  fetch?: typeof fetch;
  random?: () => number;
};

export type LogOptions = { tag?: string; attrs?: Attrs; method?: string; file?: string; line?: number };

export type FlushResult = { delivered: number; rejected: number; pending: number };

/** Compact the journal when it is this much bigger than the live queue (and at least 1 MiB). */
const compactFactor = 4;
const compactBytesMin = 1024 * 1024;
/** The longest the first upload waits for the first settings answer. */
const firstSettingsWaitMs = 2000;

export type Platform = {
  journal: Journal;
  /** Device info this platform can tell (model, OS, …), without the id. */
  device: Omit<Device, "id">;
  newId: () => string;
  /** Removes what the platform hooked (exit and page-hide listeners) when the client closes. */
  detach?: () => void;
};

export class Stormlog {
  /** Resolves once the queue is loaded from the journal; log calls before it are kept in order. */
  readonly ready: Promise<void>;
  private readonly options: Required<Omit<StormlogOptions, "device" | "onError">> & Pick<StormlogOptions, "onError">;
  private readonly platform: Platform;
  private readonly queue: LocalQueue;
  private device: Device = { id: "" };
  private early: Omit<Entry, "seq">[] | null = [];
  private unwritten: Op[] = [];
  private writing: Promise<void> | null = null;
  private pumping: Promise<FlushResult> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryAtMs = 0;
  private attempt = 0;
  private closed = false;
  private readonly counts = { delivered: 0, rejected: 0 };
  private remote: RemoteSettings = defaultRemoteSettings;
  private settingsTimer: ReturnType<typeof setTimeout> | null = null;
  /** Settles with the first settings answer (or after `firstSettingsWaitMs` without one). */
  private firstSettings: Promise<void> = Promise.resolve();

  constructor(options: StormlogOptions, platform: Platform) {
    this.options = {
      queueBytesMax: 5 * 1024 * 1024,
      batchLinesMax: 500,
      batchBytesMax: 512 * 1024,
      flushIntervalMs: 10_000,
      backoffBaseMs: 1000,
      backoffMaxMs: 5 * 60_000,
      requestTimeoutMs: 30_000,
      callSite: false,
      settingsIntervalMs: 5 * 60_000,
      fetch: (...args) => globalThis.fetch(...args),
      random: Math.random,
      ...options,
    };
    this.platform = platform;
    this.queue = new LocalQueue(this.options);
    this.ready = this.open(options.device ?? {});
  }

  trace(text: string, options?: LogOptions): void {
    this.emit("trace", text, options);
  }
  debug(text: string, options?: LogOptions): void {
    this.emit("debug", text, options);
  }
  info(text: string, options?: LogOptions): void {
    this.emit("info", text, options);
  }
  warn(text: string, options?: LogOptions): void {
    this.emit("warn", text, options);
  }
  error(text: string, options?: LogOptions): void {
    this.emit("error", text, options);
  }
  fatal(text: string, options?: LogOptions): void {
    this.emit("fatal", text, options);
  }

  log(level: Level, text: string, options: LogOptions = {}): void {
    this.emit(level, text, options);
  }

  /**
   * Reports an issue: grouped by its title with others like it in the console's Issues page
   * (the convention is shared/issues.ts's: tag `stormlog.issue`, the title as text, the markdown
   * in attrs `stormlog.body`).
   *
   * @example log.issue("Checkout fails", "Tapped **Pay**, nothing happened")
   */
  issue(title: string, markdown = ""): void {
    this.emit("error", title, { tag: issueTag, attrs: { [issueBodyAttr]: String(markdown) } });
  }

  /** Sends a user's feedback (tag `stormlog.feedback`), grouped by subject like an issue. */
  feedback(subject: string, message = ""): void {
    this.emit("info", subject, { tag: feedbackTag, attrs: { [issueBodyAttr]: String(message) } });
  }

  /** Every public log method calls this directly, so the caller is always 3 frames up. */
  private emit(level: Level, text: string, options: LogOptions = {}): void {
    if (this.closed || levelRank(level) < levelRank(this.remote.minLevel)) return;
    const site = this.options.callSite && options.method === undefined ? callSite(3) : {};
    const line = bounded({ ts: Date.now(), level, text: String(text), ...site, ...options });
    if (this.early) {
      this.early.push(line);
      return;
    }
    this.enqueue(line);
  }

  /** The device this queue belongs to (id stable across restarts). */
  get deviceInfo(): Device {
    return this.device;
  }

  /** Batches the edge refused for good, and why (kept on the device, newest last). */
  get rejections(): readonly Rejection[] {
    return this.queue.rejections;
  }

  /** What the edge last said this device should do (enabled, from trace, until it answers). */
  get settings(): RemoteSettings {
    return this.remote;
  }

  /** Asks the edge for this device's settings now (the client also does at start and on its interval). */
  async refreshSettings(): Promise<RemoteSettings> {
    await this.ready;
    await this.askSettings();
    return this.remote;
  }

  /** Lines waiting on the device, and their bytes. */
  get pending(): { lines: number; bytes: number } {
    return { lines: this.queue.entries.size, bytes: this.queue.bytes };
  }

  /** Resolves when every line logged so far is durable in the journal. */
  async persisted(): Promise<void> {
    await this.ready;
    while (this.writing || this.unwritten.length > 0) {
      if (!this.writing) this.writing = this.write();
      await this.writing;
    }
  }

  /**
   * Sends everything queued now, batch after batch, ignoring the wait for a full batch and any
   * backoff, until the queue is empty or an attempt fails (the next retry is then scheduled).
   */
  async flush(options: { keepalive?: boolean } = {}): Promise<FlushResult> {
    await this.ready;
    this.retryAtMs = 0;
    while (this.pumping) await this.pumping;
    return this.pump(true, options.keepalive === true);
  }

  /** Stops timers and closes the journal; queued lines stay for the next start. */
  async close(): Promise<void> {
    await this.ready.catch(() => {});
    this.closed = true;
    this.clearTimer();
    if (this.settingsTimer !== null) clearTimeout(this.settingsTimer);
    this.platform.detach?.();
    await this.pumping?.catch(() => {});
    await this.persisted();
    await this.platform.journal.close();
  }

  /** Writes what is not yet durable without waiting (process exit); only where the journal can. */
  persistSync(): void {
    if (!this.platform.journal.flushSync || this.unwritten.length === 0) return;
    const ops = this.unwritten;
    this.unwritten = [];
    this.platform.journal.flushSync(ops);
  }

  private async open(deviceOverrides: Partial<Device>): Promise<void> {
    // Loading synchronously where the journal can means no line waits in memory at start-up.
    const journal = this.platform.journal;
    try {
      for (const op of journal.loadSync ? journal.loadSync() : await journal.load()) this.queue.apply(op);
    } catch (error) {
      // No storage (a private window, a full disk): keep logging, in memory only, and say so.
      this.options.onError?.(error);
    }
    if (this.queue.deviceId === null) this.commit([{ t: "dev", id: this.platform.newId() }]);
    const device = clean({
      ...this.platform.device,
      ...deviceOverrides,
      id: deviceOverrides.id ?? this.queue.deviceId ?? "",
    });
    this.device = Object.fromEntries(
      Object.entries(device).map(([key, value]) => [key, storable(String(value))]),
    ) as unknown as Device;
    if (this.options.settingsIntervalMs > 0) {
      // Lines are queued (durably) meanwhile; the first upload waits for this answer, a while.
      const wait = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, firstSettingsWaitMs);
        (timer as { unref?: () => void }).unref?.();
      });
      this.firstSettings = Promise.race([this.pollSettings(), wait]);
    }
    // Lines from the journal go at once; lines logged meanwhile are batched as any other.
    const loaded = this.queue.entries.size > 0;
    const early = this.early ?? [];
    this.early = null;
    for (const line of early) this.enqueue(line);
    this.schedule(loaded ? 0 : null);
  }

  /** One settings request, then the next one after the interval. */
  private async pollSettings(): Promise<void> {
    await this.askSettings();
    if (this.closed) return;
    this.settingsTimer = setTimeout(() => {
      this.settingsTimer = null;
      void this.pollSettings();
    }, this.options.settingsIntervalMs);
    (this.settingsTimer as { unref?: () => void }).unref?.();
  }

  private async askSettings(): Promise<void> {
    const answer = await fetchSettings({
      endpoint: this.options.endpoint,
      appKey: this.options.appKey,
      deviceId: this.device.id,
      appVersion: this.device.appVersion,
      timeoutMs: this.options.requestTimeoutMs,
      fetch: this.options.fetch,
    });
    if (!answer || this.closed) return;
    const resumed = answer.enabled && !this.remote.enabled;
    this.remote = answer;
    if (resumed && this.queue.entries.size > 0) this.schedule(0);
  }

  private enqueue(line: Omit<Entry, "seq">): void {
    this.commit(this.queue.add(line));
    if (this.queue.hasFullBatch()) this.schedule(0, false);
    else this.schedule(this.options.flushIntervalMs);
  }

  /** Applies ops to memory now and queues them for the journal. */
  private commit(ops: Op[]): void {
    for (const op of ops) this.queue.apply(op);
    this.unwritten.push(...ops);
    if (!this.writing) this.writing = this.write();
  }

  private async write(): Promise<void> {
    await Promise.resolve(); // let a burst of log calls land in one write
    try {
      while (this.unwritten.length > 0) {
        const ops = this.unwritten;
        this.unwritten = [];
        const journal = this.platform.journal;
        if (journal.size() > Math.max(compactBytesMin, this.queue.bytes * compactFactor)) {
          // The snapshot already holds the effect of `ops`: they are not written again.
          await journal.compact(this.queue.snapshot());
        } else {
          await journal.append(ops);
        }
      }
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.writing = null;
    }
  }

  /**
   * Runs the uploader after `delayMs` (unless it is due sooner, or backing off): for every line
   * queued when the wait was the flush interval, or only for full batches when `all` is false.
   */
  private schedule(delayMs: number | null, all = true): void {
    if (delayMs === null || this.closed || this.early) return;
    const wait = Math.max(delayMs, this.retryAtMs - Date.now());
    if (this.timer !== null) {
      if (wait > 0) return; // already due; a full batch is the only reason to go sooner
      this.clearTimer();
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.pumping) void this.pump(all, false);
    }, wait);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private pump(all: boolean, keepalive: boolean): Promise<FlushResult> {
    const run = this.sendBatches(all, keepalive).finally(() => {
      this.pumping = null;
    });
    this.pumping = run;
    return run;
  }

  private async sendBatches(all: boolean, keepalive: boolean): Promise<FlushResult> {
    const before = { ...this.counts };
    // Not when the page is going away: the request must start now, with the settings known so far.
    if (!keepalive) await this.firstSettings;
    while (!this.closed) {
      // Disabled remotely: lines wait in the queue until the settings say otherwise.
      if (!this.remote.enabled) break;
      if (!this.queue.batch) {
        this.dropBelowMinLevel();
        if (!all && !this.queue.hasFullBatch()) break;
        const op = this.queue.nextBatch(this.platform.newId(), this.device);
        if (!op) break;
        this.commit([op]);
      }
      const batch = this.queue.batch;
      if (!batch) break;
      // The batch id is on disk before the first attempt, except when the page is going away:
      // then the request must start now, and a batch not yet on disk is re-batched next visit.
      if (!keepalive) await this.persisted();
      const outcome = await upload({
        endpoint: this.options.endpoint,
        appKey: this.options.appKey,
        batchId: batch.id,
        device: batch.device,
        entries: this.queue.batchEntries(),
        timeoutMs: this.options.requestTimeoutMs,
        keepalive,
        fetch: this.options.fetch,
      });
      if (!this.settle(batch.id, batch.seqs.length, outcome)) break;
    }
    if (this.queue.entries.size > 0 && this.retryAtMs <= Date.now()) this.schedule(this.options.flushIntervalMs);
    return {
      delivered: this.counts.delivered - before.delivered,
      rejected: this.counts.rejected - before.rejected,
      pending: this.queue.entries.size,
    };
  }

  /**
   * Removes queued lines below the minimum level (logged before the settings said so, or queued
   * by an earlier run), as a batch delivered at once: the journal needs no new kind of record.
   */
  private dropBelowMinLevel(): void {
    const min = levelRank(this.remote.minLevel);
    if (min === 0) return;
    const seqs = [...this.queue.entries.values()]
      .filter((entry) => entry.tag !== gapTag && levelRank(entry.level) < min)
      .map((entry) => entry.seq);
    if (seqs.length === 0) return;
    const id = `below-${this.platform.newId()}`;
    this.commit([
      { t: "batch", id, seqs, device: this.device },
      { t: "done", id },
    ]);
  }

  /** Records an attempt's outcome; false when the uploader should stop and wait. */
  private settle(batchId: string, lines: number, outcome: Outcome): boolean {
    if (outcome.kind === "delivered") {
      this.commit([{ t: "done", id: batchId }]);
      this.counts.delivered += lines;
      this.attempt = 0;
      return true;
    }
    if (outcome.kind === "rejected") {
      const { status, code, message } = outcome;
      this.commit([{ t: "rej", r: { batchId, status, code, message, lines, at: Date.now() } }]);
      this.counts.rejected += lines;
      return true;
    }
    this.attempt += 1;
    const delay = backoffMs(this.attempt, {
      baseMs: this.options.backoffBaseMs,
      maxMs: this.options.backoffMaxMs,
      retryAfterMs: outcome.retryAfterMs,
      random: this.options.random,
    });
    this.retryAtMs = Date.now() + delay;
    this.clearTimer();
    this.schedule(delay);
    return false;
  }
}
