/**
 * The SDK's vocabulary: levels, a queued log entry, the device it comes from, and the records
 * the journal keeps. These are the only shapes persisted on the device (file or IndexedDB), so
 * they are kept short and stable: an SDK upgrade must still read a queue an older one wrote.
 */

export const levels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type Level = (typeof levels)[number];

/** trace 0 … fatal 5: eviction drops low ranks first, reads filter by "this and above". */
export function levelRank(level: Level): number {
  return levels.indexOf(level);
}

/** Device info sent with every batch (the edge's `device` object). */
export type Device = {
  id: string;
  name?: string;
  model?: string;
  os?: string;
  osVersion?: string;
  appVersion?: string;
  appBuild?: string;
  locale?: string;
};

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Attrs = Record<string, JsonValue>;

/** One queued log line, exactly as it will be uploaded, plus its queue position `seq`. */
export type Entry = {
  seq: number;
  ts: number;
  level: Level;
  text: string;
  tag?: string;
  method?: string;
  file?: string;
  line?: number;
  attrs?: Attrs;
};

/** Why the edge refused a batch for good (400, 401, 403, 409, 413, 415): kept so it can be shown. */
export type Rejection = {
  batchId: string;
  status: number;
  code: string;
  message: string;
  lines: number;
  at: number;
};

/**
 * One journal record. The queue's state is whatever replaying them in order gives:
 *  dev    the stable device id, written once
 *  add    a new entry
 *  batch  entries bound to a batch id (and the device info sent with it), before the first try
 *  done   the batch was delivered (202): its entries are gone
 *  rej    the batch was refused for good: its entries are gone, the reason is kept
 *  evict  entries dropped to stay under the byte cap, and the gap marker that replaces them
 */
export type Op =
  | { t: "dev"; id: string }
  | { t: "add"; e: Entry }
  | { t: "batch"; id: string; seqs: number[]; device: Device }
  | { t: "done"; id: string }
  | { t: "rej"; r: Rejection }
  | { t: "evict"; seqs: number[]; gap: Entry };

/** Where the queue lives: an append-only, crash-safe record of ops (a file, or IndexedDB). */
export interface Journal {
  /** Every op that was durably appended, in order; a torn last write is dropped. */
  load(): Promise<Op[]>;
  /** The same, synchronously, where the platform can: the client is then ready at once. */
  loadSync?(): Op[];
  /** Resolves once the ops are durable (fsynced, or the IndexedDB transaction committed). */
  append(ops: Op[]): Promise<void>;
  /** Atomically replaces the whole journal with `ops` (a snapshot of the live state). */
  compact(ops: Op[]): Promise<void>;
  /** Bytes (or records) written since the last compaction, to decide when to compact. */
  size(): number;
  /** Writes anything still buffered without waiting, where the platform can (process exit). */
  flushSync?(ops: Op[]): void;
  close(): Promise<void>;
}

/** What both builds can capture besides explicit log calls. */
export type CaptureOptions = {
  /** Also send `console.*` calls (log/debug as debug, info, warn, error). */
  captureConsole?: boolean;
  /** Log uncaught errors (and, in browsers, unhandled promise rejections) as fatal; a crashing process still crashes. */
  captureErrors?: boolean;
};
