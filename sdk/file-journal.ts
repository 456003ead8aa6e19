/**
 * The Node journal: one append-only file of JSON lines, one op per line. Appends are grouped by
 * the client and each group is one `write` followed by `fdatasync`, so a resolved append survives
 * a crash or power loss. A crash mid-write can leave a torn last line: loading drops it and cuts
 * the file back to the last whole line before anything is appended after it. Compaction writes
 * the snapshot to a temporary file, fsyncs it and renames it over the journal (atomic on POSIX),
 * then fsyncs the folder so the rename itself is durable.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import type { Journal, Op } from "./types.ts";

export const journalFileName = "queue.jsonl";

export function createFileJournal(dir: string): Journal {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, journalFileName);
  let fd: number | null = null;
  let bytes = 0;

  const handle = (): number => {
    fd ??= openSync(file, "a");
    return fd;
  };
  const writeOps = (ops: Op[]): void => {
    if (ops.length === 0) return;
    const text = Buffer.from(ops.map((op) => `${JSON.stringify(op)}\n`).join(""));
    const target = handle();
    let written = 0;
    while (written < text.byteLength) written += writeSync(target, text, written);
    fdatasyncSync(target);
    bytes += text.byteLength;
  };

  const loadSync = (): Op[] => {
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const ops: Op[] = [];
    let good = 0;
    let offset = 0;
    while (offset < content.byteLength) {
      const end = content.indexOf(10, offset);
      if (end === -1) break; // a torn last write: no newline yet
      const op = parseOp(content.subarray(offset, end).toString("utf8"));
      offset = end + 1;
      if (op === null) continue; // a damaged line: skip it, keep the rest
      ops.push(op);
      good = offset;
    }
    if (good < content.byteLength) {
      // Cut what cannot be read so the next append starts on a fresh line.
      const target = openSync(file, "r+");
      try {
        ftruncateSync(target, good);
        fsyncSync(target);
      } finally {
        closeSync(target);
      }
    }
    bytes = good;
    return ops;
  };

  return {
    loadSync,
    load: async () => loadSync(),
    async append(ops) {
      writeOps(ops);
    },
    async compact(ops) {
      const temporary = `${file}.${process.pid}.tmp`;
      const text = Buffer.from(ops.map((op) => `${JSON.stringify(op)}\n`).join(""));
      const target = openSync(temporary, "w");
      try {
        let written = 0;
        while (written < text.byteLength) written += writeSync(target, text, written);
        fsyncSync(target);
      } finally {
        closeSync(target);
      }
      if (fd !== null) closeSync(fd);
      fd = null;
      renameSync(temporary, file);
      const folder = openSync(dir, "r");
      try {
        fsyncSync(folder);
      } finally {
        closeSync(folder);
      }
      bytes = text.byteLength;
    },
    size: () => bytes,
    flushSync: writeOps,
    async close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

function parseOp(line: string): Op | null {
  try {
    const op = JSON.parse(line) as Op;
    return typeof op === "object" && op !== null && typeof op.t === "string" ? op : null;
  } catch {
    return null;
  }
}
