/**
 * The Bugfender web SDK's upload shapes (as `@bugfender/sdk` 2.x sends them) and their mapping
 * onto Stormlog devices and lines. Levels: 0 debug, 1 warning, 2 error, 3 trace, 4 info, 5 fatal.
 * A log entry `{x: ISO time, at: epoch ms, ll: level, tg: tag, t: text, m: method, f: file,
 * l: line, u: page URL}` becomes a line with the page URL and the Bugfender session in its attrs;
 * an issue, crash or user feedback (`sendIssue`, `sendCrash`, `sendUserFeedback`) becomes a line
 * in the issue convention of shared/issues.ts (tags `stormlog.issue`, `stormlog.crash`,
 * `stormlog.feedback`; the title as text, the details in attrs `stormlog.body`), so regions group
 * them as they group the Stormlog SDK's.
 */
import { z } from "zod";
import type { Device, Level } from "../../shared/batch.ts";
import { crashTag, feedbackTag, issueBodyAttr, issueTag } from "../../shared/issues.ts";
import { limits } from "../../shared/limits.ts";
import { truncateText } from "../../shared/storable.ts";
import type { Session } from "./bugfender-session.ts";

const bugfenderLevels: Record<number, Level> = { 0: "debug", 1: "warn", 2: "error", 3: "trace", 4: "info", 5: "fatal" };

const text = z.string().optional().nullable();

export const sessionRequestSchema = z.object({
  device: z.object({
    udid: z.string().min(1),
    name: text,
    device_type: text,
    language: text,
    os: text,
    os_version: text,
    version: text,
    build: text,
  }),
  session_uid: z.string().optional(),
  language: text,
  app_version: z.object({ version: text, build: text }).optional(),
});

/** `/app/device-status`: `{app_token, device: {udid, version, …}}`; only the device is read, leniently. */
export const deviceStatusSchema = z.object({
  device: z.object({ udid: z.string().optional().nullable(), version: text }).optional().nullable(),
});

export const logBatchSchema = z.object({
  /** Or in the `X-App-Session` header (routes/bugfender.ts). */
  session_id: z.unknown().optional(),
  logs: z.array(
    z.object({
      x: text,
      at: z.number().optional().nullable(),
      ll: z.number().int().optional().nullable(),
      tg: text,
      t: z.unknown().optional(),
      m: text,
      f: text,
      l: z.number().optional().nullable(),
      u: text,
    }),
  ),
});

export const issueSchema = z.object({
  uid: z.string().min(1).max(limits.idLengthMax),
  title: text,
  text: text,
  type: text,
  /** Or in the `X-App-Session` header (routes/bugfender.ts). */
  session_id: z.unknown().optional(),
});

export function deviceFromSession(request: z.infer<typeof sessionRequestSchema>): Device {
  const short = (value: string | null | undefined) =>
    value ? truncateText(value, limits.shortFieldLengthMax) : undefined;
  const { device } = request;
  const fields = {
    id: truncateText(device.udid, limits.idLengthMax),
    name: short(device.name),
    model: short(device.device_type),
    os: short(device.os),
    osVersion: short(device.os_version),
    appVersion: short(device.version ?? request.app_version?.version),
    appBuild: short(device.build ?? request.app_version?.build),
    locale: short(device.language ?? request.language),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Device;
}

/** Candidate lines (checked later against the batch contract, one by one). */
export function linesFromLogs(
  session: Session,
  logs: z.infer<typeof logBatchSchema>["logs"],
  nowMs: number,
): unknown[] {
  return logs.map((log) => {
    const ts = typeof log.at === "number" && log.at > 0 ? log.at : log.x ? Date.parse(log.x) : nowMs;
    const attrs: Record<string, string> = { "bugfender.session": session.uid };
    if (log.u) attrs.url = log.u;
    return {
      ts: Number.isFinite(ts) ? Math.trunc(ts) : nowMs,
      level: bugfenderLevels[log.ll ?? 0] ?? "debug",
      ...(log.tg ? { tag: log.tg } : {}),
      ...(log.m ? { method: log.m } : {}),
      ...(log.f ? { file: log.f } : {}),
      ...(typeof log.l === "number" && log.l > 0 ? { line: Math.trunc(log.l) } : {}),
      text: typeof log.t === "string" ? log.t : JSON.stringify(log.t ?? ""),
      attrs,
    };
  });
}

export function lineFromIssue(session: Session, issue: z.infer<typeof issueSchema>, nowMs: number): unknown {
  const kind = issue.type === "crash" ? "crash" : issue.type === "user-feedback" ? "feedback" : "issue";
  const tag = { crash: crashTag, feedback: feedbackTag, issue: issueTag }[kind];
  return {
    ts: nowMs,
    level: kind === "crash" ? "fatal" : kind === "feedback" ? "info" : "error",
    tag,
    text: issue.title || (issue.text ?? "").split("\n")[0] || "(untitled)",
    attrs: {
      [issueBodyAttr]: issue.text ?? "",
      "bugfender.session": session.uid,
      issue_id: issue.uid,
      issue_type: issue.type ?? "issue",
      ...(issue.title ? { title: truncateText(issue.title, 1024) } : {}),
    },
  };
}
