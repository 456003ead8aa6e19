/**
 * One log line made safe to queue: optional fields that are undefined dropped, and everything
 * the edge would refuse (shared/limits.ts) cut to size here, saying so in the line, so one long
 * line can never make a whole batch bounce forever.
 */
import type { Attrs, Entry } from "./types.ts";

const lineTextBytesMax = 16 * 1024;
const lineAttrsBytesMax = 4 * 1024;
const shortFieldMax = 256;

/** Cuts a line to what the edge accepts (shared/limits.ts), saying so in the line. */
export function bounded(line: Omit<Entry, "seq">): Omit<Entry, "seq"> {
  const out = clean({ ...line });
  for (const key of ["tag", "method", "file"] as const) {
    const value = out[key];
    if (value !== undefined) out[key] = String(value).slice(0, shortFieldMax);
  }
  if (out.line !== undefined && !(Number.isInteger(out.line) && out.line >= 0)) delete out.line;
  if (new TextEncoder().encode(out.text).byteLength > lineTextBytesMax) {
    out.text = `${truncateUtf8(out.text, lineTextBytesMax - 64)} …[truncated by stormlog]`;
  }
  if (out.attrs !== undefined) {
    const json = JSON.stringify(out.attrs);
    if (json === undefined || new TextEncoder().encode(json).byteLength > lineAttrsBytesMax) {
      out.attrs = { "stormlog.attrsDropped": `attrs over ${lineAttrsBytesMax} bytes as JSON` };
    } else {
      out.attrs = JSON.parse(json) as Attrs;
    }
  }
  return out;
}

function truncateUtf8(text: string, bytes: number): string {
  const encoded = new TextEncoder().encode(text).slice(0, bytes);
  return new TextDecoder().decode(encoded).replace(/\uFFFD$/, "");
}

export function clean<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}
