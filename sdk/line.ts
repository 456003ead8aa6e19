/**
 * One log line made safe to queue: optional fields that are undefined dropped, and everything
 * the edge would refuse (shared/limits.ts) cut to size or replaced here, saying so in the line,
 * so one bad line can never make a whole batch bounce: text too long, attrs too large, too deep
 * or not JSON at all, and the characters no store can hold (NUL, lone surrogates: U+FFFD instead).
 */
import type { Attrs, Entry, JsonValue } from "./types.ts";

const lineTextBytesMax = 16 * 1024;
const lineAttrsBytesMax = 4 * 1024;
const attrsDepthMax = 16;
const shortFieldMax = 256;

/** Cuts a line to what the edge accepts (shared/limits.ts), saying so in the line. */
export function bounded(line: Omit<Entry, "seq">): Omit<Entry, "seq"> {
  const out = clean({ ...line });
  out.text = storable(out.text);
  for (const key of ["tag", "method", "file"] as const) {
    const value = out[key];
    if (value !== undefined) out[key] = storable(String(value).slice(0, shortFieldMax));
  }
  if (out.line !== undefined && !(Number.isInteger(out.line) && out.line >= 0)) delete out.line;
  if (new TextEncoder().encode(out.text).byteLength > lineTextBytesMax) {
    out.text = `${truncateUtf8(out.text, lineTextBytesMax - 64)} …[truncated by stormlog]`;
  }
  if (out.attrs !== undefined) out.attrs = boundedAttrs(out.attrs);
  return out;
}

/** NUL and lone surrogates become U+FFFD: the edge refuses them, and no database holds a NUL. */
export function storable(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD").replace(/\p{Cs}/gu, "\uFFFD");
}

function boundedAttrs(attrs: Attrs): Attrs {
  let json: string | undefined;
  try {
    json = JSON.stringify(attrs); // throws on a cycle, or nesting deep enough to exhaust the stack
  } catch {
    json = undefined;
  }
  if (json === undefined) return { "stormlog.attrsDropped": "attrs are not JSON" };
  if (new TextEncoder().encode(json).byteLength > lineAttrsBytesMax) {
    return { "stormlog.attrsDropped": `attrs over ${lineAttrsBytesMax} bytes as JSON` };
  }
  const parsed = JSON.parse(json) as Attrs;
  if (depthOf(parsed) > attrsDepthMax) return { "stormlog.attrsDropped": `attrs nested deeper than ${attrsDepthMax}` };
  return storableJson(parsed) as Attrs;
}

/** Nesting of objects and arrays, counted without recursion. */
function depthOf(value: JsonValue): number {
  let deepest = 0;
  const stack: [JsonValue, number][] = [[value, 1]];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [current, depth] = entry;
    if (current === null || typeof current !== "object") continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Strings and keys made storable; only called on values within attrsDepthMax, so recursion is bounded. */
function storableJson(value: JsonValue): JsonValue {
  if (typeof value === "string") return storable(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [storable(key), storableJson(child)]));
}

function truncateUtf8(text: string, bytes: number): string {
  const encoded = new TextEncoder().encode(text).slice(0, bytes);
  return new TextDecoder().decode(encoded).replace(/\uFFFD$/, "");
}

export function clean<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}
