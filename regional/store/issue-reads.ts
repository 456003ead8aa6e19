/**
 * Issue groups as the API reads and changes them (issues.ts records them): a page by most recent
 * occurrence first, one group with its sample and its latest occurrences (each a line id the
 * device timeline opens around), and a status change that keeps the latest one, the same rule in
 * every region, so a PATCH sent to all of them leaves them agreeing.
 */
import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { IssueDetail, IssueGroup, IssuePage, IssueQuery, RegionIssuePatch } from "../../shared/issues.ts";
import { lineId } from "../../shared/read.ts";
import { err, ok, type Result } from "../../shared/result.ts";
import { issueGroups, issueOccurrences } from "../db/schema/index.ts";
import { samplePurpose, titlePurpose } from "./issues.ts";
import type { ReadFailure, StoreDeps } from "./types.ts";

/** Occurrences a group's detail lists, latest first. */
const occurrencesShown = 50;

type GroupRow = typeof issueGroups.$inferSelect;

async function toGroup({ codec }: Pick<StoreDeps, "codec">, row: GroupRow): Promise<IssueGroup> {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    title: await codec.openText(row.appId, titlePurpose(row.id), {
      keyId: row.sealedKeyId,
      wrappedKey: row.titleWrapped as Uint8Array<ArrayBuffer>,
      ciphertext: row.titleCiphertext as Uint8Array<ArrayBuffer>,
    }),
    count: row.count,
    devices: row.devices,
    appVersions: row.appVersions,
    firstSeen: row.firstSeen.toISOString(),
    lastSeen: row.lastSeen.toISOString(),
    statusUpdatedAt: row.statusUpdatedAt?.toISOString() ?? null,
  };
}

/** `<lastSeen ms>.<id>`: where the previous page ended. */
function parseCursor(cursor: string): { lastSeen: number; id: string } | null {
  const match = /^(\d{1,15})\.([0-9a-f]{24})$/.exec(cursor);
  return match ? { lastSeen: Number(match[1]), id: match[2] as string } : null;
}

export function listIssues(deps: StoreDeps) {
  return async (appId: string, query: IssueQuery): Promise<Result<IssuePage, ReadFailure>> => {
    const after = query.cursor === undefined ? null : parseCursor(query.cursor);
    if (query.cursor !== undefined && after === null) {
      return err({ kind: "bad_cursor", message: "cursor: expected a cursor this API returned" });
    }
    const rows = await deps.db
      .select()
      .from(issueGroups)
      .where(
        and(
          eq(issueGroups.appId, appId),
          query.status === undefined ? undefined : eq(issueGroups.status, query.status),
          after === null
            ? undefined
            : or(
                lt(issueGroups.lastSeen, new Date(after.lastSeen)),
                and(eq(issueGroups.lastSeen, new Date(after.lastSeen)), lt(issueGroups.id, after.id)),
              ),
        ),
      )
      .orderBy(desc(issueGroups.lastSeen), desc(issueGroups.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return ok({
      issues: await Promise.all(page.map((row) => toGroup(deps, row))),
      cursor: rows.length > query.limit && last ? `${last.lastSeen.getTime()}.${last.id}` : null,
    });
  };
}

export function getIssue(deps: StoreDeps) {
  return async (appId: string, id: string): Promise<IssueDetail | null> => {
    const [row] = await deps.db
      .select()
      .from(issueGroups)
      .where(and(eq(issueGroups.appId, appId), eq(issueGroups.id, id)));
    if (!row) return null;
    const occurrences = await deps.db
      .select()
      .from(issueOccurrences)
      .where(and(eq(issueOccurrences.appId, appId), eq(issueOccurrences.groupId, id)))
      .orderBy(desc(issueOccurrences.ts))
      .limit(occurrencesShown);
    return {
      ...(await toGroup(deps, row)),
      sample: await deps.codec.openText(appId, samplePurpose(id), {
        keyId: row.sealedKeyId,
        wrappedKey: row.sampleWrapped as Uint8Array<ArrayBuffer>,
        ciphertext: row.sampleCiphertext as Uint8Array<ArrayBuffer>,
      }),
      occurrences: occurrences.map((occurrence) => ({
        deviceId: occurrence.deviceId,
        lineId: lineId({ batchId: occurrence.batchId, index: occurrence.lineIndex }),
        ts: occurrence.ts.toISOString(),
      })),
    };
  };
}

/**
 * Keeps the change if it is newer than the status held. Resolving takes no effect over an
 * occurrence that arrived after the change (the group stays open, as it would have reopened had
 * the change come first). Null when the group is not known here.
 */
export function changeIssueStatus({ db }: StoreDeps) {
  return async (appId: string, id: string, patch: RegionIssuePatch): Promise<IssueGroup["status"] | null> => {
    const updatedAt = new Date(patch.updatedAt);
    const status =
      patch.status === "resolved"
        ? sql`case when ${issueGroups.lastReceivedAt} > ${updatedAt.toISOString()}::timestamptz then 'open' else 'resolved' end`
        : patch.status;
    await db
      .update(issueGroups)
      .set({ status, statusUpdatedAt: updatedAt })
      .where(
        and(
          eq(issueGroups.appId, appId),
          eq(issueGroups.id, id),
          or(isNull(issueGroups.statusUpdatedAt), lt(issueGroups.statusUpdatedAt, updatedAt)),
        ),
      );
    const [row] = await db
      .select({ status: issueGroups.status })
      .from(issueGroups)
      .where(and(eq(issueGroups.appId, appId), eq(issueGroups.id, id)));
    return row?.status ?? null;
  };
}
