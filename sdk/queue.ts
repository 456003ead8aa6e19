/**
 * The local queue's state, rebuilt by replaying journal ops (types.ts) and changed only by
 * producing new ops, so what is in memory is always what a restart would load. It decides the
 * three things that make the SDK lossless where it can be and honest where it cannot:
 *  - what the next batch is (oldest first, bounded by lines, bytes and the time its lines span),
 *    bound to a batch id before its first attempt, and resent unchanged after a restart;
 *  - what to evict when the byte cap is reached: the lowest level first (trace, then debug, …),
 *    oldest first within a level, never a line of the batch in flight, never a more severe
 *    line to make room for a less severe one;
 *  - the gap marker that replaces what was evicted: one warn line tagged `stormlog.gap` with the
 *    time span and the counts per level, merged with the previous marker while it is unsent.
 */
import {
  type Device,
  type Entry,
  type JsonValue,
  type Level,
  levelRank,
  levels,
  type Op,
  type Rejection,
} from "./types.ts";

export const gapTag = "stormlog.gap";
/** Rejections kept on the device, newest last. */
export const rejectionsKept = 50;

export type QueueLimits = { queueBytesMax: number; batchLinesMax: number; batchBytesMax: number };

/**
 * The longest time one batch's lines may span (shared/limits.ts `batchSpanMsMax`): the edge
 * refuses a batch past it, so lines queued over days (a device offline, a gap marker that reaches
 * back) go in several batches.
 */
export const batchSpanMsMax = 24 * 60 * 60 * 1000;

export type PendingBatch = { id: string; seqs: number[]; device: Device };

type GapInfo = { from: number; to: number; dropped: Partial<Record<Level, number>>; bytes: number };

const encoder = new TextEncoder();

/** Bytes an entry takes on the wire and on disk, near enough (its JSON, UTF-8). */
export function entryBytes(entry: Entry): number {
  return encoder.encode(JSON.stringify(entry)).byteLength;
}

export class LocalQueue {
  readonly entries = new Map<number, Entry>();
  readonly rejections: Rejection[] = [];
  deviceId: string | null = null;
  batch: PendingBatch | null = null;
  bytes = 0;
  private nextSeq = 1;
  private gapSeq: number | null = null;
  private readonly sizes = new Map<number, number>();
  private readonly limits: QueueLimits;

  constructor(limits: QueueLimits) {
    this.limits = limits;
  }

  /** Applies one op, live or replayed. Re-applying an op already reflected changes nothing. */
  apply(op: Op): void {
    switch (op.t) {
      case "dev":
        this.deviceId = op.id;
        break;
      case "add":
        this.put(op.e);
        break;
      case "batch":
        this.batch = { id: op.id, seqs: op.seqs.filter((seq) => this.entries.has(seq)), device: op.device };
        if (this.batch.seqs.length === 0) this.batch = null;
        break;
      case "done":
        this.settle(op.id);
        break;
      case "rej":
        this.settle(op.r.batchId);
        if (!this.rejections.some((known) => known.batchId === op.r.batchId)) this.rejections.push(op.r);
        if (this.rejections.length > rejectionsKept) this.rejections.shift();
        break;
      case "evict":
        for (const seq of op.seqs) this.remove(seq);
        this.put(op.gap);
        break;
    }
  }

  /** The ops that queue a new line: an `add`, or an `evict` when the cap leaves no room. */
  add(fields: Omit<Entry, "seq">): Op[] {
    const entry: Entry = { seq: this.nextSeq, ...fields };
    const size = entryBytes(entry);
    const over = this.bytes + size - this.limits.queueBytesMax;
    if (over <= 0) return [{ t: "add", e: entry }];

    const victims = this.victimsFor(entry, over);
    if (victims === null) {
      // Nothing less severe (or as severe and older) to give up: this line is the one dropped.
      const gap = this.gapAfterDropping([entry]);
      return [{ t: "evict", seqs: gap.replaces, gap: gap.entry }];
    }
    const gap = this.gapAfterDropping(victims);
    return [
      { t: "evict", seqs: [...gap.replaces, ...victims.map((victim) => victim.seq)], gap: gap.entry },
      { t: "add", e: { ...entry, seq: gap.entry.seq + 1 } },
    ];
  }

  /** The next batch to send, bound to `id`, or null when nothing waits or a batch is in flight. */
  nextBatch(id: string, device: Device): Op | null {
    if (this.batch || this.entries.size === 0) return null;
    const seqs: number[] = [];
    let bytes = 0;
    let firstTs = Number.POSITIVE_INFINITY;
    let lastTs = Number.NEGATIVE_INFINITY;
    for (const [seq, size] of this.sizes) {
      const ts = (this.entries.get(seq) as Entry).ts;
      if (seqs.length >= this.limits.batchLinesMax) break;
      if (seqs.length > 0 && bytes + size > this.limits.batchBytesMax) break;
      if (Math.max(lastTs, ts) - Math.min(firstTs, ts) > batchSpanMsMax) break;
      seqs.push(seq);
      bytes += size;
      firstTs = Math.min(firstTs, ts);
      lastTs = Math.max(lastTs, ts);
    }
    return { t: "batch", id, seqs, device };
  }

  /** Is there a full batch's worth waiting (so it should go now rather than on the timer)? */
  hasFullBatch(): boolean {
    return this.entries.size >= this.limits.batchLinesMax || this.bytes >= this.limits.batchBytesMax;
  }

  batchEntries(): Entry[] {
    return (this.batch?.seqs ?? []).map((seq) => this.entries.get(seq) as Entry);
  }

  /** The ops that rebuild this state from nothing: what a compaction writes. */
  snapshot(): Op[] {
    const ops: Op[] = [];
    if (this.deviceId !== null) ops.push({ t: "dev", id: this.deviceId });
    for (const r of this.rejections) ops.push({ t: "rej", r });
    for (const e of this.entries.values()) ops.push({ t: "add", e });
    if (this.batch) ops.push({ t: "batch", ...this.batch });
    return ops;
  }

  private put(entry: Entry): void {
    if (this.entries.has(entry.seq)) return;
    const size = entryBytes(entry);
    this.entries.set(entry.seq, entry);
    this.sizes.set(entry.seq, size);
    this.bytes += size;
    this.nextSeq = Math.max(this.nextSeq, entry.seq + 1);
    if (entry.tag === gapTag) this.gapSeq = entry.seq;
  }

  private remove(seq: number): void {
    const size = this.sizes.get(seq);
    if (size === undefined) return;
    this.entries.delete(seq);
    this.sizes.delete(seq);
    this.bytes -= size;
    if (this.gapSeq === seq) this.gapSeq = null;
  }

  private settle(batchId: string): void {
    if (this.batch?.id !== batchId) return;
    for (const seq of this.batch.seqs) this.remove(seq);
    this.batch = null;
  }

  /** Lines to drop so `entry` fits, least severe and oldest first; null when it should go itself. */
  private victimsFor(entry: Entry, over: number): Entry[] | null {
    const inFlight = new Set(this.batch?.seqs ?? []);
    const rank = levelRank(entry.level);
    const candidates = [...this.entries.values()]
      .filter((queued) => !inFlight.has(queued.seq) && queued.seq !== this.gapSeq && levelRank(queued.level) <= rank)
      .sort((a, b) => levelRank(a.level) - levelRank(b.level) || a.seq - b.seq);
    const victims: Entry[] = [];
    let freed = 0;
    for (const candidate of candidates) {
      if (freed >= over) break;
      victims.push(candidate);
      freed += this.sizes.get(candidate.seq) ?? 0;
    }
    return freed >= over ? victims : null;
  }

  /** The gap marker after dropping `dropped`, merged with the unsent marker it replaces. */
  private gapAfterDropping(dropped: Entry[]): { entry: Entry; replaces: number[] } {
    const previous = this.gapSeq === null ? undefined : this.entries.get(this.gapSeq);
    const mergeable = previous && !this.batch?.seqs.includes(previous.seq) ? previous : undefined;
    const info: GapInfo = mergeable
      ? structuredClone(mergeable.attrs?.[gapTag] as unknown as GapInfo)
      : { from: Number.POSITIVE_INFINITY, to: 0, dropped: {}, bytes: 0 };
    for (const line of dropped) {
      info.from = Math.min(info.from, line.ts);
      info.to = Math.max(info.to, line.ts);
      info.dropped[line.level] = (info.dropped[line.level] ?? 0) + 1;
      info.bytes += this.sizes.get(line.seq) ?? entryBytes(line);
    }
    const total = Object.values(info.dropped).reduce((sum, count) => sum + (count ?? 0), 0);
    const counts = levels
      .filter((level) => info.dropped[level])
      .map((level) => `${info.dropped[level]} ${level}`)
      .join(", ");
    const entry: Entry = {
      seq: this.nextSeq,
      ts: info.from,
      level: "warn",
      tag: gapTag,
      text: `stormlog dropped ${total} log lines (${counts}) from ${new Date(info.from).toISOString()} to ${new Date(info.to).toISOString()}: the device's queue was full`,
      attrs: { [gapTag]: info as unknown as JsonValue },
    };
    return { entry, replaces: mergeable ? [mergeable.seq] : [] };
  }
}
