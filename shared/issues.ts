/**
 * Issues: crashes, reported issues and user feedback, grouped per app by a signature. This file
 * holds the line convention an SDK writes (and a region recognises), the normalization a signature
 * is computed over, and the API's schemas, so the edge, the regions, the SDK and the console share
 * one contract.
 *
 * The convention (a line is an occurrence when):
 * - crash: `level` is `fatal` and `text` holds a stack trace (the SDKs send `error.stack` as the
 *   text: a first line "TypeError: …", then frames "    at f (file.js:1:2)" or "f@file.js:1:2");
 *   the title is the text's first line, the top frame its first frame line.
 * - reported crash (an adapter's, e.g. Bugfender's `sendCrash`): `tag` is `stormlog.crash`, `text`
 *   the title, `attrs["stormlog.body"]` the stack or details; grouped like a captured crash.
 * - reported issue: `tag` is `stormlog.issue`, `text` is the title, `attrs["stormlog.body"]` the
 *   markdown body (optional).
 * - user feedback: `tag` is `stormlog.feedback`, `text` is the subject, `attrs["stormlog.body"]`
 *   the message.
 *
 * The signature is the type, the normalized title and the normalized top frame (numbers, hex ids
 * and line:column positions stripped, so the same crash at another address or build groups
 * together), hashed by the region under a key derived from the cluster's keyring: the same in every
 * region, unknown to whoever reads the database.
 */
import { z } from "zod";
import type { LogLine } from "./batch.ts";
import { hmacHex } from "./hmac.ts";
import { limits } from "./limits.ts";
import { storableString } from "./storable.ts";

export const issueTag = "stormlog.issue";
export const feedbackTag = "stormlog.feedback";
export const crashTag = "stormlog.crash";
/** The attrs key holding a reported issue's markdown or a feedback's message. */
export const issueBodyAttr = "stormlog.body";

export const issueTypes = ["crash", "issue", "feedback"] as const;
export type IssueType = (typeof issueTypes)[number];
export const issueStatuses = ["open", "resolved", "muted"] as const;
export const issueStatusSchema = z.enum(issueStatuses);
export type IssueStatus = z.infer<typeof issueStatusSchema>;

/** Bounds on what a group keeps sealed: its title and one sample body. */
export const issueTitleCharsMax = 512;
export const issueSampleCharsMax = 16_384;

/** What one line contributes to a group: its type, title, body and what the signature covers. */
export type Occurrence = { type: IssueType; title: string; body: string; signatureText: string };

const v8Frame = /^\s+at\s+\S/;
const webkitFrame = /^[^\s@]*@\S+:\d+(:\d+)?\s*$/;

/**
 * The occurrence a line is, or null.
 *
 * @example occurrenceOf({ ts, level: "fatal", text: "TypeError: x\n    at f (a.js:3:9)" })
 *   // { type: "crash", title: "TypeError: x", signatureText: "crash\nTypeError: x\nat f (a.js)", … }
 */
export function occurrenceOf(line: LogLine): Occurrence | null {
  if (line.tag === issueTag || line.tag === feedbackTag) {
    const type: IssueType = line.tag === issueTag ? "issue" : "feedback";
    const raw = line.attrs?.[issueBodyAttr];
    const body = typeof raw === "string" ? raw : "";
    const title = firstLine(line.text);
    return { type, title, body, signatureText: `${type}\n${normalize(title)}` };
  }
  if (line.tag === crashTag) {
    const raw = line.attrs?.[issueBodyAttr];
    const body = typeof raw === "string" ? raw.slice(0, issueSampleCharsMax) : "";
    const title = firstLine(line.text);
    const frame = topFrame(body) ?? "";
    return { type: "crash", title, body, signatureText: `crash\n${normalize(title)}\n${normalize(frame)}` };
  }
  if (line.level !== "fatal") return null;
  const frame = topFrame(line.text);
  if (frame === undefined) return null;
  const title = firstLine(line.text);
  return {
    type: "crash",
    title,
    body: line.text.slice(0, issueSampleCharsMax),
    signatureText: `crash\n${normalize(title)}\n${normalize(frame)}`,
  };
}

function topFrame(text: string): string | undefined {
  return text.split("\n").find((candidate) => v8Frame.test(candidate) || webkitFrame.test(candidate));
}

function firstLine(text: string): string {
  const cut = text.indexOf("\n");
  return (cut < 0 ? text : text.slice(0, cut)).trim().slice(0, issueTitleCharsMax);
}

/**
 * Text with what varies between two occurrences of one problem taken out: line:column positions,
 * hex ids and addresses, UUIDs, and any other number; whitespace collapsed.
 *
 * @example normalize("at f (app.js:12:7) id 0x1f3a 42") // "at f (app.js) id # #"
 */
export function normalize(text: string): string {
  return text
    .replace(/:\d+(:\d+)?(?=\)|\s|$)/g, "")
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "#")
    .replace(/\b0x[0-9a-f]+\b/gi, "#")
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b/gi, "#")
    .replace(/\d+/g, "#")
    .replace(/\s+/g, " ")
    .trim();
}

// ---- The API ----

const groupIdSchema = z.string().regex(/^[0-9a-f]{24}$/, "expected an issue id this API returned");
export const issueIdSchema = groupIdSchema;

/** `GET /v1/issues?status&cursor&limit`. The cursor is the last id of the previous page. */
export const issueQuerySchema = z.strictObject({
  status: issueStatusSchema.optional(),
  cursor: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type IssueQuery = z.output<typeof issueQuerySchema>;

/** `PATCH /v1/issues/{id}`: the edge adds `updatedAt` (epoch ms) so regions keep the latest. */
export const issuePatchSchema = z.strictObject({ status: issueStatusSchema });
export const regionIssuePatchSchema = z.strictObject({
  status: issueStatusSchema,
  updatedAt: z.int().min(0),
});
export type RegionIssuePatch = z.infer<typeof regionIssuePatchSchema>;

export const issueGroupSchema = z.object({
  id: z.string(),
  type: z.enum(issueTypes),
  status: issueStatusSchema,
  /** Null when the device key it was sealed under was destroyed by an erasure. */
  title: z.string().nullable(),
  count: z.number(),
  devices: z.number(),
  appVersions: z.array(z.string()),
  /** ISO 8601, as every time in the API. */
  firstSeen: z.string(),
  lastSeen: z.string(),
  statusUpdatedAt: z.string().nullable(),
});
export type IssueGroup = z.infer<typeof issueGroupSchema>;

export const issuePageSchema = z.object({ issues: z.array(issueGroupSchema), cursor: z.string().nullable() });
export type IssuePage = z.infer<typeof issuePageSchema>;

/** An occurrence as the API links it into the device timeline: `GET /v1/logs?device=…&around=…`. */
export const occurrenceLinkSchema = z.object({
  deviceId: z.string(),
  lineId: z.string(),
  ts: z.string(),
});
export const issueDetailSchema = issueGroupSchema.extend({
  sample: z.string().nullable(),
  occurrences: z.array(occurrenceLinkSchema),
});
export type IssueDetail = z.infer<typeof issueDetailSchema>;

/** The answer to a PATCH: the group's status in that region now. */
export const issueStatusAnswerSchema = z.object({ id: z.string(), status: issueStatusSchema });

// ---- Webhooks ----

export const webhookEvents = ["issue.created", "issue.reopened", "feedback.created"] as const;
export type WebhookEvent = (typeof webhookEvents)[number];
export const webhookConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  secret: storableString().min(16).max(limits.shortFieldLengthMax),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

/** The header a webhook carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, like Stripe's. */
export const webhookSignatureHeader = "Stormlog-Signature";

/**
 * The signature header's value for a body sent at `unixSeconds`. A receiver recomputes it with
 * its secret, compares in constant time, and refuses a timestamp too far from its clock.
 *
 * @example await webhookSignature("whsec_…", 1780315200, '{"type":"issue.created"}') // "t=1780315200,v1=5f…"
 */
export async function webhookSignature(secret: string, unixSeconds: number, body: string): Promise<string> {
  return `t=${unixSeconds},v1=${await hmacHex(secret, `${unixSeconds}.${body}`)}`;
}

/** What a region answers to a webhook being set: where events go, never the secret. */
export const webhookAnswerSchema = z.object({ appId: z.string(), url: z.string() });
