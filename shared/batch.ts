/**
 * The upload wire format (API v1) and its normalized form.
 *
 * The edge parses what an SDK sends with `uploadSchema`, checks the size limits, and forwards the
 * result of `normalizeUpload`: timestamps as epoch milliseconds, attrs with sorted keys. Regions
 * accept only the normalized form (`batchSchema`), so both tiers validate the same contract, and
 * `batchJson(batch)` is byte-for-byte stable: it is what gets encrypted and compared when a
 * batch id is seen twice.
 */
import { z } from "zod";
import { utf8Length } from "./encoding.ts";
import { ApiError } from "./errors.ts";
import { limits } from "./limits.ts";
import { err, ok, type Result } from "./result.ts";
import { jsonValueProblem, storableString } from "./storable.ts";

export const levels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type Level = (typeof levels)[number];
export const levelSchema = z.enum(levels);

/** Severity order, so a read can ask for "warn and above". */
export function levelRank(level: Level): number {
  return levels.indexOf(level);
}

/** Epoch milliseconds accepted for a log line: from 2000-01-01, before 2100-01-01. */
export const tsMsMin = Date.UTC(2000, 0, 1);
export const tsMsMax = Date.UTC(2100, 0, 1);
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A point in time as ISO-8601 text or epoch milliseconds; parsed to epoch milliseconds. */
export const timestampSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === "number" ? value : isoDateTime.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms < tsMsMin || ms >= tsMsMax) {
    ctx.addIssue({ code: "custom", message: "expected ISO-8601 date-time or epoch milliseconds (2000-2099)" });
    return z.NEVER;
  }
  return Math.trunc(ms);
});

export const batchIdSchema = z
  .string()
  .min(8)
  .max(limits.idLengthMax)
  .regex(/^[A-Za-z0-9._:-]+$/, "expected letters, digits and . _ : - (a UUID or ULID)");
const idSchema = storableString().min(1).max(limits.idLengthMax);
const shortText = storableString().max(limits.shortFieldLengthMax);

export const deviceSchema = z.strictObject({
  id: idSchema,
  name: shortText.optional(),
  model: shortText.optional(),
  os: shortText.optional(),
  osVersion: shortText.optional(),
  appVersion: shortText.optional(),
  appBuild: shortText.optional(),
  locale: shortText.optional(),
});
export type Device = z.infer<typeof deviceSchema>;

/** A device's info as stored and read back: every field present, null where the SDK sent none. */
export type DeviceInfo = { [Field in Exclude<keyof Device, "id">]-?: string | null };

export function deviceInfo(device: Device): DeviceInfo {
  return {
    name: device.name ?? null,
    model: device.model ?? null,
    os: device.os ?? null,
    osVersion: device.osVersion ?? null,
    appVersion: device.appVersion ?? null,
    appBuild: device.appBuild ?? null,
    locale: device.locale ?? null,
  };
}

type JsonValue = z.core.util.JSONType;

/**
 * A line's attrs: an object of JSON values, checked as a whole (storable strings and keys, finite
 * numbers, at most `limits.attrsDepthMax` levels) without recursion, before anything recurses.
 */
const attrsSchema = z.record(z.string().max(limits.shortFieldLengthMax), z.unknown()).superRefine((attrs, ctx) => {
  const problem = jsonValueProblem(attrs, limits.attrsDepthMax);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
}) as unknown as z.ZodType<Record<string, JsonValue>>;

function lineSchema<T extends z.ZodType>(ts: T) {
  return z.strictObject({
    ts,
    level: levelSchema,
    tag: shortText.optional(),
    method: shortText.optional(),
    file: shortText.optional(),
    line: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    text: storableString(),
    attrs: attrsSchema.optional(),
  });
}

const uploadLineSchema = lineSchema(timestampSchema);

/** What an SDK sends to `POST /v1/batches`. */
export const uploadSchema = z.strictObject({
  batchId: batchIdSchema,
  device: deviceSchema,
  logs: z.array(uploadLineSchema).min(1),
});
export type Upload = z.infer<typeof uploadSchema>;

/** A normalized batch, as the edge forwards it and a region stores it. */
export const batchSchema = z.strictObject({
  batchId: batchIdSchema,
  device: deviceSchema,
  logs: z
    .array(
      lineSchema(
        z
          .int()
          .min(tsMsMin)
          .max(tsMsMax - 1),
      ),
    )
    .min(1),
});
export type Batch = z.infer<typeof batchSchema>;
export type LogLine = Batch["logs"][number];

/**
 * A batch's identity everywhere past the upload: batch ids are the client's, unique only within
 * an app, so the store's primary key, the outbox, replication and the edge's spool all name a
 * batch by both.
 */
export type BatchKey = { appId: string; batchId: string };

/** Parses a decoded JSON body into a normalized batch, or throws the ApiError the client should see. */
export function parseUpload(body: unknown): Batch {
  if (Array.isArray((body as { logs?: unknown })?.logs)) {
    checkLineCount((body as { logs: unknown[] }).logs.length);
  }
  return normalizeUpload(parseWith(uploadSchema, body));
}

/** Validates a normalized batch (what a region receives), or throws the ApiError to answer. */
export function parseBatch(body: unknown): Batch {
  const batch = parseWith(batchSchema, body);
  checkSizes(batch);
  checkSpan(batch);
  // Attrs keys are sorted as normalizeUpload sorts them, so batchJson gives the same bytes
  // whoever serialized the batch (a duplicate is recognised by those bytes).
  for (const line of batch.logs) {
    if (line.attrs !== undefined) line.attrs = sortKeys(line.attrs) as Record<string, JsonValue>;
  }
  return batch;
}

/**
 * A batch as JSON text. Plain `JSON.stringify`: the fixed key order comes from how a batch is
 * built (normalizeUpload, parseBatch sort attrs keys), so equal batches give equal bytes.
 */
export function batchJson(batch: Batch): string {
  return JSON.stringify(batch);
}

/**
 * Checks one line alone against the upload contract and normalizes it, so an adapter can drop a
 * line a batch would refuse instead of failing every line sent with it. The refusal is a value,
 * its message naming the line as `at` ("line 3.text: …").
 *
 * @example checkLine({ ts: 1780315200000, level: "info", text: "hi" }, "line 0") // { ok: true, value: {…} }
 */
export function checkLine(candidate: unknown, at: string): Result<LogLine, string> {
  const parsed = uploadLineSchema.safeParse(candidate);
  if (!parsed.success) return err(describeIssues(parsed.error, at, [at]));
  const line = normalizeLine(parsed.data);
  const problem = lineSizeProblem(line);
  return problem === null ? ok(line) : err(`${at}.${problem.field}: ${problem.message}`);
}

function normalizeUpload(upload: Upload): Batch {
  const batch: Batch = {
    batchId: upload.batchId,
    device: normalizeDevice(upload.device),
    logs: upload.logs.map(normalizeLine),
  };
  checkSizes(batch);
  checkSpan(batch);
  return batch;
}

/*
 * Normalized objects are built key by key in the one order `batchJson` must give, leaving out what
 * is absent, rather than copied whole and then pruned with `delete` (which, per line, turns V8's
 * fast objects into dictionaries and cost a share of the edge's CPU).
 */
function normalizeDevice(device: Device): Device {
  const normalized: Device = { id: device.id };
  if (device.name !== undefined) normalized.name = device.name;
  if (device.model !== undefined) normalized.model = device.model;
  if (device.os !== undefined) normalized.os = device.os;
  if (device.osVersion !== undefined) normalized.osVersion = device.osVersion;
  if (device.appVersion !== undefined) normalized.appVersion = device.appVersion;
  if (device.appBuild !== undefined) normalized.appBuild = device.appBuild;
  if (device.locale !== undefined) normalized.locale = device.locale;
  return normalized;
}

function normalizeLine(line: Upload["logs"][number]): LogLine {
  const normalized = { ts: line.ts, level: line.level } as LogLine;
  if (line.tag !== undefined) normalized.tag = line.tag;
  if (line.method !== undefined) normalized.method = line.method;
  if (line.file !== undefined) normalized.file = line.file;
  if (line.line !== undefined) normalized.line = line.line;
  normalized.text = line.text;
  if (line.attrs !== undefined) normalized.attrs = sortKeys(line.attrs) as Record<string, JsonValue>;
  return normalized;
}

function checkLineCount(count: number): void {
  if (count > limits.batchLinesMax) {
    throw new ApiError("PAYLOAD_TOO_LARGE", `logs: ${count} lines, at most ${limits.batchLinesMax} per batch`);
  }
}

function checkSizes(batch: Batch): void {
  checkLineCount(batch.logs.length);
  batch.logs.forEach((line, index) => {
    const problem = lineSizeProblem(line);
    if (problem !== null)
      throw new ApiError("PAYLOAD_TOO_LARGE", `logs[${index}].${problem.field}: ${problem.message}`);
  });
}

/**
 * A string of n UTF-16 code units encodes to at most 3n UTF-8 bytes (a surrogate pair, two units,
 * to four), so a string at most this long is within `bytesMax` without being encoded.
 */
function withinBytes(text: string, bytesMax: number): boolean {
  return text.length * 3 <= bytesMax || utf8Length(text) <= bytesMax;
}

/** A line's text or attrs past its byte limit, or null. */
function lineSizeProblem(line: LogLine): { field: "text" | "attrs"; message: string } | null {
  if (!withinBytes(line.text, limits.lineTextBytesMax)) {
    return { field: "text", message: `${utf8Length(line.text)} bytes, at most ${limits.lineTextBytesMax}` };
  }
  if (line.attrs !== undefined) {
    const attrsJson = JSON.stringify(line.attrs);
    if (!withinBytes(attrsJson, limits.lineAttrsBytesMax)) {
      return {
        field: "attrs",
        message: `${utf8Length(attrsJson)} bytes as JSON, at most ${limits.lineAttrsBytesMax}`,
      };
    }
  }
  return null;
}

/** The time from a batch's first line to its last, in milliseconds. */
function batchSpanMs(logs: readonly { ts: number }[]): number {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const { ts } of logs) {
    if (ts < first) first = ts;
    if (ts > last) last = ts;
  }
  return last - first;
}

function checkSpan(batch: Batch): void {
  const spanMs = batchSpanMs(batch.logs);
  if (spanMs > limits.batchSpanMsMax) {
    const hours = (ms: number) => `${Math.round((ms / 3_600_000) * 10) / 10} h`;
    throw new ApiError(
      "INVALID_BODY",
      `logs: lines span ${hours(spanMs)}, at most ${hours(limits.batchSpanMsMax)} in one batch`,
    );
  }
}

/** Runs a schema and turns its first issues into one 400 that names the fields. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ApiError("INVALID_BODY", describeIssues(result.error));
}

/**
 * "logs[0].level: …; device: …"; `root` names what an issue about the whole value is about, and
 * `prefix` is put before every issue's path (a line checked alone is named as its place).
 */
export function describeIssues(error: z.ZodError, root = "body", prefix: PropertyKey[] = []): string {
  const shown = error.issues
    .slice(0, 5)
    .map((issue) => `${formatPath([...prefix, ...issue.path]) || root}: ${issue.message}`);
  const more = error.issues.length - shown.length;
  return more > 0 ? `${shown.join("; ")} (and ${more} more)` : shown.join("; ");
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
    "",
  );
}

/**
 * The value with every object's keys in sorted order (as `JSON.stringify` then writes them), for
 * attrs, whose keys are the client's. Attrs often arrive sorted already (and a region always
 * receives what the edge sorted): those are checked in one pass and returned as they are; only an
 * object out of order, or holding one, is rebuilt.
 */
function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let index = 0; index < value.length; index++) {
      const item = value[index];
      const sorted = sortKeys(item);
      if (sorted !== item) {
        copy ??= value.slice();
        copy[index] = sorted;
      }
    }
    return copy ?? value;
  }
  const object = value as Record<string, unknown>;
  // Object.keys lists integer-like keys first, ascending, then the others as inserted. When that
  // list is already sorted, rebuilding from the sorted keys would insert them in the same order,
  // so the object serializes the same as its rebuilt copy.
  const keys = Object.keys(object);
  let inOrder = true;
  let sortedChildren: Map<string, unknown> | null = null;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string;
    if (index > 0 && (keys[index - 1] as string) > key) inOrder = false;
    const child = object[key];
    const sorted = sortKeys(child);
    if (sorted !== child) {
      sortedChildren ??= new Map();
      sortedChildren.set(key, sorted);
    }
  }
  if (inOrder && sortedChildren === null) return value;
  const children = sortedChildren;
  return Object.fromEntries(keys.sort().map((key) => [key, children?.has(key) ? children.get(key) : object[key]]));
}
