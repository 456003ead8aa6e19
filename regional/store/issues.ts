/**
 * Grouping a batch's occurrences (shared/issues.ts: crashes, reported issues, feedback) at
 * ingest, where the plaintext is at hand. Two steps, so the transaction does no crypto:
 *
 * - `prepareIssues`, before the batch's transaction: finds the occurrences, computes each one's
 *   signature (a keyed hash, the same in every region) and seals a title and a sample per
 *   signature under the batch's device key.
 * - `recordIssues`, in the batch's transaction (put-batch.ts for an upload, replica.ts for a
 *   peer's copy): one occurrence row per line, keyed by the line's id, so a batch recorded twice
 *   changes nothing; the group upserted (created with the sealed title, else counted); a
 *   (group, device) pair for "devices affected". A resolved group whose new occurrence arrived
 *   (at its origin) after it was resolved reopens; every region decides that by the same times.
 *
 * Webhook events are queued only when the caller says so: the batch's origin region, never a
 * replica, so each event is sent once across the cluster (webhooks.ts sends them).
 */
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { Batch } from "../../shared/batch.ts";
import type { Sealed } from "../../shared/envelope.ts";
import { type Occurrence, occurrenceOf, type WebhookEvent } from "../../shared/issues.ts";
import type { Transaction } from "../db/client.ts";
import { issueDevices, issueGroups, issueOccurrences, webhookConfigs, webhookQueue } from "../db/schema/index.ts";
import type { StoreDeps } from "./types.ts";

/** App versions a group lists, at most (the first ones seen). */
const appVersionsMax = 50;

export type PreparedOccurrence = { index: number; occurrence: Occurrence; groupId: string; signature: string };
export type PreparedIssues = {
  occurrences: PreparedOccurrence[];
  /** Per group id: its title and sample, sealed, for the row that creates the group. */
  sealed: Map<string, { title: Sealed; sample: Sealed }>;
};

/** A group's id: the first 24 hex digits of its signature, so every region names it alike. */
export function groupIdOf(signature: string): string {
  return signature.slice(0, 24);
}

export const titlePurpose = (groupId: string) => `issue:${groupId}:title`;
export const samplePurpose = (groupId: string) => `issue:${groupId}:sample`;

export async function prepareIssues({ codec }: Pick<StoreDeps, "codec">, appId: string, batch: Batch) {
  const prepared: PreparedIssues = { occurrences: [], sealed: new Map() };
  for (const [index, line] of batch.logs.entries()) {
    const occurrence = occurrenceOf(line);
    if (!occurrence) continue;
    const signature = await codec.issueSignature(appId, occurrence.signatureText);
    const groupId = groupIdOf(signature);
    prepared.occurrences.push({ index, occurrence, groupId, signature });
    if (!prepared.sealed.has(groupId)) {
      const deviceId = batch.device.id;
      prepared.sealed.set(groupId, {
        title: await codec.sealText(appId, deviceId, titlePurpose(groupId), occurrence.title),
        sample: await codec.sealText(appId, deviceId, samplePurpose(groupId), occurrence.body),
      });
    }
  }
  return prepared;
}

/** How a batch is recorded: its origin's arrival time, and whether this region sends webhooks for it. */
export type IssueArrival = { receivedAtMs: number; sendWebhooks: boolean; nowMs: number };

export async function recordIssues(
  tx: Transaction,
  appId: string,
  batch: Batch,
  prepared: PreparedIssues,
  arrival: IssueArrival,
): Promise<void> {
  if (prepared.occurrences.length === 0) return;
  const hooked =
    arrival.sendWebhooks &&
    (await tx.select({ appId: webhookConfigs.appId }).from(webhookConfigs).where(eq(webhookConfigs.appId, appId)))
      .length > 0;
  const receivedAt = new Date(arrival.receivedAtMs);
  const appVersion = batch.device.appVersion;
  // Group rows are locked in id order, so two batches touching the same groups cannot deadlock.
  const inLockOrder = [...prepared.occurrences].sort(
    (left, right) => left.groupId.localeCompare(right.groupId) || left.index - right.index,
  );
  for (const { index, occurrence, groupId, signature } of inLockOrder) {
    const line = batch.logs[index] as Batch["logs"][number];
    const ts = new Date(line.ts);
    const [fresh] = await tx
      .insert(issueOccurrences)
      .values({ appId, batchId: batch.batchId, lineIndex: index, groupId, deviceId: batch.device.id, ts })
      .onConflictDoNothing()
      .returning({ groupId: issueOccurrences.groupId });
    if (!fresh) continue;

    const [held] = await tx
      .select({ status: issueGroups.status, statusUpdatedAt: issueGroups.statusUpdatedAt })
      .from(issueGroups)
      .where(and(eq(issueGroups.appId, appId), eq(issueGroups.id, groupId)))
      .for("update");
    const reopens =
      held?.status === "resolved" &&
      (held.statusUpdatedAt === null || held.statusUpdatedAt.getTime() < arrival.receivedAtMs);
    const sealed = prepared.sealed.get(groupId) as { title: Sealed; sample: Sealed };
    const versions = appVersion === undefined ? [] : [appVersion];
    const [upserted] = await tx
      .insert(issueGroups)
      .values({
        appId,
        id: groupId,
        signature,
        type: occurrence.type,
        status: "open",
        statusUpdatedAt: null,
        count: 1,
        devices: 0,
        appVersions: versions,
        firstSeen: ts,
        lastSeen: ts,
        lastReceivedAt: receivedAt,
        sealedKeyId: sealed.title.keyId,
        titleWrapped: sealed.title.wrappedKey,
        titleCiphertext: sealed.title.ciphertext,
        sampleWrapped: sealed.sample.wrappedKey,
        sampleCiphertext: sealed.sample.ciphertext,
      })
      .onConflictDoUpdate({
        target: [issueGroups.appId, issueGroups.id],
        set: {
          count: sql`${issueGroups.count} + 1`,
          firstSeen: sql`least(${issueGroups.firstSeen}, excluded.first_seen)`,
          lastSeen: sql`greatest(${issueGroups.lastSeen}, excluded.last_seen)`,
          lastReceivedAt: sql`greatest(${issueGroups.lastReceivedAt}, excluded.last_received_at)`,
          appVersions:
            appVersion === undefined
              ? sql`${issueGroups.appVersions}`
              : sql`case when ${appVersion} = any(${issueGroups.appVersions}) or cardinality(${issueGroups.appVersions}) >= ${appVersionsMax} then ${issueGroups.appVersions} else array_append(${issueGroups.appVersions}, ${appVersion}::text) end`,
          ...(reopens ? { status: "open" as const, statusUpdatedAt: receivedAt } : {}),
        },
      })
      .returning({ created: sql<boolean>`xmax = 0` });

    const [newDevice] = await tx
      .insert(issueDevices)
      .values({ appId, groupId, deviceId: batch.device.id })
      .onConflictDoNothing()
      .returning({ deviceId: issueDevices.deviceId });
    if (newDevice) {
      await tx
        .update(issueGroups)
        .set({ devices: sql`${issueGroups.devices} + 1` })
        .where(and(eq(issueGroups.appId, appId), eq(issueGroups.id, groupId)));
    }

    if (!hooked) continue;
    const event: WebhookEvent | null =
      occurrence.type === "feedback"
        ? "feedback.created"
        : upserted?.created
          ? "issue.created"
          : reopens
            ? "issue.reopened"
            : null;
    if (event) {
      const now = new Date(arrival.nowMs);
      await tx.insert(webhookQueue).values({
        appId,
        event,
        groupId,
        batchId: batch.batchId,
        lineIndex: index,
        createdAt: now,
        nextAttemptAt: now,
      });
    }
  }
}

/**
 * Takes an erasure's batches out of the issue tables (erasure.ts, in its transaction): their
 * occurrences and queued webhook events go, their groups' counts and devices drop, and a group
 * left with no occurrence goes. A group whose title was sealed under the erased device's key keeps
 * its counts from other devices, its title now unreadable (null), as the key is destroyed.
 */
export async function eraseIssues(tx: Transaction, appId: string, deviceId: string, batchIds: string[]) {
  const removed = new Map<string, number>();
  for (let at = 0; at < batchIds.length; at += 500) {
    const ids = batchIds.slice(at, at + 500);
    const gone = await tx
      .delete(issueOccurrences)
      .where(and(eq(issueOccurrences.appId, appId), inArray(issueOccurrences.batchId, ids)))
      .returning({ groupId: issueOccurrences.groupId });
    for (const { groupId } of gone) removed.set(groupId, (removed.get(groupId) ?? 0) + 1);
    await tx.delete(webhookQueue).where(and(eq(webhookQueue.appId, appId), inArray(webhookQueue.batchId, ids)));
  }
  for (const [groupId, count] of removed) {
    const ofGroup = and(eq(issueGroups.appId, appId), eq(issueGroups.id, groupId));
    const [left] = await tx
      .select({ deviceId: issueOccurrences.deviceId })
      .from(issueOccurrences)
      .where(
        and(
          eq(issueOccurrences.appId, appId),
          eq(issueOccurrences.groupId, groupId),
          eq(issueOccurrences.deviceId, deviceId),
        ),
      )
      .limit(1);
    let devicesGone = 0;
    if (!left) {
      const pairs = await tx
        .delete(issueDevices)
        .where(
          and(eq(issueDevices.appId, appId), eq(issueDevices.groupId, groupId), eq(issueDevices.deviceId, deviceId)),
        )
        .returning({ deviceId: issueDevices.deviceId });
      devicesGone = pairs.length;
    }
    await tx
      .update(issueGroups)
      .set({ count: sql`${issueGroups.count} - ${count}`, devices: sql`${issueGroups.devices} - ${devicesGone}` })
      .where(ofGroup);
    await tx.delete(issueGroups).where(and(ofGroup, lte(issueGroups.count, 0)));
  }
}

/** Every issue row of an app, and its webhook, go with the app (erasure.ts). */
export async function eraseAppIssues(tx: Transaction, appId: string) {
  await tx.delete(issueOccurrences).where(eq(issueOccurrences.appId, appId));
  await tx.delete(issueDevices).where(eq(issueDevices.appId, appId));
  await tx.delete(issueGroups).where(eq(issueGroups.appId, appId));
  await tx.delete(webhookQueue).where(eq(webhookQueue.appId, appId));
  await tx.delete(webhookConfigs).where(eq(webhookConfigs.appId, appId));
}
