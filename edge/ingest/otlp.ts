/**
 * OTLP/HTTP JSON logs (`ExportLogsServiceRequest`) mapped onto Stormlog batches. Each resource is
 * a device: `device.id`, else `service.instance.id`, `host.id`, `host.name`, `service.name`
 * identify it; `service.name`, `service.version`, `os.type`, `os.version` and
 * `device.model.identifier` fill its info. A log record becomes a line: `timeUnixNano` (else
 * `observedTimeUnixNano`, else now) its time, `severityNumber` (else `severityText`) its level,
 * the instrumentation scope's name its tag, `body` its text (JSON for a structured body), and its
 * attributes, trace and span ids its attrs. Every AnyValue is checked (ingest/any-value.ts) before
 * `plain` recurses into it.
 */
import { z } from "zod";
import { type Device, type Level, levels } from "../../shared/batch.ts";
import { limits } from "../../shared/limits.ts";
import { truncateText } from "../../shared/storable.ts";
import { anyValueSchema } from "./any-value.ts";

type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
};
type KeyValue = { key: string; value?: AnyValue };

const keyValues = z.array(z.object({ key: z.string(), value: anyValueSchema.optional() })).optional();
const nanos = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).optional();

export const otlpLogsSchema = z.object({
  resourceLogs: z.array(
    z.object({
      resource: z.object({ attributes: keyValues }).optional(),
      scopeLogs: z
        .array(
          z.object({
            scope: z.object({ name: z.string().optional(), version: z.string().optional() }).optional(),
            logRecords: z
              .array(
                z.object({
                  timeUnixNano: nanos,
                  observedTimeUnixNano: nanos,
                  severityNumber: z.number().int().min(0).max(24).optional(),
                  severityText: z.string().optional(),
                  body: anyValueSchema.optional(),
                  attributes: keyValues,
                  traceId: z.string().optional(),
                  spanId: z.string().optional(),
                }),
              )
              .default([]),
          }),
        )
        .default([]),
    }),
  ),
});
export type OtlpLogs = z.infer<typeof otlpLogsSchema>;

/** One device's lines (not yet checked against the batch contract). */
export type MappedResource = { device: Device; lines: unknown[] };

/** OTLP severity numbers come in fours: 1-4 trace, 5-8 debug, … 21-24 fatal. */
function levelOf(severityNumber: number | undefined, severityText: string | undefined): Level {
  if (severityNumber && severityNumber > 0) {
    return levels[Math.min(5, Math.floor((severityNumber - 1) / 4))] as Level;
  }
  const text = (severityText ?? "").toLowerCase();
  const named = levels.find((level) => text.startsWith(level));
  return named ?? (text.startsWith("crit") || text.startsWith("emerg") ? "fatal" : "info");
}

/** An AnyValue as plain JSON (64-bit ints beyond 2^53 stay strings). */
export function plain(value: AnyValue | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : String(value.intValue);
  }
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plain);
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values);
  return null;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, plain(entry.value)]));
}

function msFromNanos(value: string | number | undefined): number | null {
  if (value === undefined) return null;
  const ms = typeof value === "number" ? Math.trunc(value / 1e6) : Number(BigInt(value) / 1_000_000n);
  return ms > 0 ? ms : null;
}

function deviceOf(attributes: Record<string, unknown>): Device {
  const text = (key: string) => (typeof attributes[key] === "string" ? (attributes[key] as string) : undefined);
  const short = (value: string | undefined) =>
    value === undefined ? undefined : truncateText(value, limits.shortFieldLengthMax);
  const id =
    text("device.id") ?? text("service.instance.id") ?? text("host.id") ?? text("host.name") ?? text("service.name");
  return Object.fromEntries(
    Object.entries({
      id: truncateText(id ?? "otel-unknown", limits.idLengthMax),
      name: short(text("service.name")),
      model: short(text("device.model.identifier") ?? text("device.model.name")),
      os: short(text("os.type") ?? text("os.name")),
      osVersion: short(text("os.version")),
      appVersion: short(text("service.version")),
    }).filter(([, value]) => value !== undefined),
  ) as Device;
}

/** Maps a parsed request onto devices and their candidate lines. */
export function mapOtlpLogs(request: OtlpLogs, nowMs: number): MappedResource[] {
  return request.resourceLogs.map((resourceLogs) => {
    const device = deviceOf(attributesOf(resourceLogs.resource?.attributes as KeyValue[] | undefined));
    const lines = resourceLogs.scopeLogs.flatMap((scopeLogs) =>
      scopeLogs.logRecords.map((record) => {
        const attrs: Record<string, unknown> = attributesOf(record.attributes as KeyValue[] | undefined);
        if (record.traceId) attrs.trace_id = record.traceId;
        if (record.spanId) attrs.span_id = record.spanId;
        if (record.severityText) attrs.severity_text = record.severityText;
        const body = plain(record.body as AnyValue | undefined);
        return {
          ts: msFromNanos(record.timeUnixNano) ?? msFromNanos(record.observedTimeUnixNano) ?? nowMs,
          level: levelOf(record.severityNumber, record.severityText),
          ...(scopeLogs.scope?.name ? { tag: truncateText(scopeLogs.scope.name, limits.shortFieldLengthMax) } : {}),
          text: typeof body === "string" ? body : body === null ? "" : JSON.stringify(body),
          ...(Object.keys(attrs).length > 0 ? { attrs } : {}),
        };
      }),
    );
    return { device, lines };
  });
}
