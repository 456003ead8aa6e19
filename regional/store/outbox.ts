/**
 * The outbox, as the replication worker uses it: batches owed to a peer and late (unconfirmed past
 * their sender's lease, handed over by marks.ts), or queued by a caller that did not send them. `claim` leases due entries of one peer with
 * `FOR UPDATE SKIP LOCKED`, so processes sharing one PostgreSQL database each take different
 * entries and a crashed sender's lease simply runs out. A failed send backs off exponentially
 * with jitter, capped, forever: an entry leaves only when the peer confirms it.
 */
import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { BatchKey } from "../../shared/batch.ts";
import { outbox } from "../db/schema/index.ts";
import type { ReplicaStore, StoreDeps } from "./types.ts";

/** `ReplicaStore.claim`. */
export function claimOutbox({ db, clock }: StoreDeps): ReplicaStore["claim"] {
  return async (peer, limit, leaseMs) => {
    const now = clock.now();
    const due = db
      .select({ peer: outbox.peer, appId: outbox.appId, batchId: outbox.batchId })
      .from(outbox)
      .where(and(eq(outbox.peer, peer), lte(outbox.nextAttemptAt, new Date(now))))
      .orderBy(asc(outbox.nextAttemptAt))
      .limit(limit)
      .for("update", { skipLocked: true });
    return db
      .update(outbox)
      .set({ nextAttemptAt: new Date(now + leaseMs) })
      .where(sql`(${outbox.peer}, ${outbox.appId}, ${outbox.batchId}) in ${due}`)
      .returning({ appId: outbox.appId, batchId: outbox.batchId, attempts: outbox.attempts });
  };
}

/** `ReplicaStore.complete`: the peer holds these, they leave the outbox. */
export function completeOutbox({ db }: StoreDeps): ReplicaStore["complete"] {
  return async (peer, keys) => {
    for (const [appId, batchIds] of groupByApp(keys)) {
      await db
        .delete(outbox)
        .where(and(eq(outbox.peer, peer), eq(outbox.appId, appId), inArray(outbox.batchId, batchIds)));
    }
  };
}

/**
 * `ReplicaStore.retry`: the send failed, try again after base·2^attempts (capped), scaled by a
 * random 50-100 %.
 */
export function retryOutbox({ db, clock }: StoreDeps): ReplicaStore["retry"] {
  return async (peer, keys, backoff) => {
    const now = new Date(clock.now()).toISOString();
    const delayMs = sql`least(${backoff.maxMs}::float8, ${backoff.baseMs}::float8 * power(2, least(${outbox.attempts}, 30))) * (0.5 + random() * 0.5)`;
    for (const [appId, batchIds] of groupByApp(keys)) {
      await db
        .update(outbox)
        .set({
          attempts: sql`${outbox.attempts} + 1`,
          nextAttemptAt: sql`${now}::timestamptz + ${delayMs} * interval '1 millisecond'`,
        })
        .where(and(eq(outbox.peer, peer), eq(outbox.appId, appId), inArray(outbox.batchId, batchIds)));
    }
  };
}

/**
 * `ReplicaStore.resume`: the peer answers again, so the first `limit` entries waiting out a backoff
 * for it (in the order `claim` takes them) are due now, not up to `maxMs` later. Bounded, because
 * a long outage leaves a long outbox: one statement over all of it would hold PGlite's one session
 * for seconds (2.8 s for 200,000 entries, 0.14 s for 1,280), stalling every upload; the rest come
 * due within a backoff while these are sent. An entry leased by a send in flight may be taken again
 * by another process on the same database; the peer answers that second copy `held`.
 */
export function resumeOutbox({ db, clock }: StoreDeps): ReplicaStore["resume"] {
  return async (peer, limit) => {
    const now = new Date(clock.now());
    const waiting = db
      .select({ peer: outbox.peer, appId: outbox.appId, batchId: outbox.batchId })
      .from(outbox)
      .where(and(eq(outbox.peer, peer), gt(outbox.attempts, 0), gt(outbox.nextAttemptAt, now)))
      .orderBy(asc(outbox.nextAttemptAt))
      .limit(limit);
    const resumed = await db
      .update(outbox)
      .set({ nextAttemptAt: now })
      .where(sql`(${outbox.peer}, ${outbox.appId}, ${outbox.batchId}) in ${waiting}`)
      .returning({ batchId: outbox.batchId });
    return resumed.length;
  };
}

function groupByApp(keys: BatchKey[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) groups.set(key.appId, [...(groups.get(key.appId) ?? []), key.batchId]);
  return groups;
}
