/**
 * Health answers between tiers. A region's `/v1/health` (regional/routes/health.ts) is read by the
 * edge's probes (edge/health/status.ts) with `regionHealthSchema`; the edge's own `/v1/health`
 * (edge/routes/health.ts) is read by benches and operators with `edgeHealthSchema`.
 */
import { z } from "zod";

export const regionStatuses = ["up", "degraded", "draining"] as const;

/** Replication state of one peer, as a region reports it. */
export type PeerHealth = {
  name: string;
  backlog: { entries: number; oldestAgeMs: number | null };
  lastContactAt: string | null;
  reachable: boolean;
};

/** What a region answers on `/v1/health`: 200 when up or degraded, 503 when draining or its database is down. */
export type RegionHealth = {
  region: string;
  status: (typeof regionStatuses)[number];
  database: { kind: "pglite" | "postgres"; ok: boolean };
  inFlight: number;
  ackQuorum: number;
  peers: PeerHealth[];
};

/**
 * What the edge reads of a region's health, field by field: a field that is missing or not the
 * expected shape (an older region reports no backlog; a count that is not a count) is left out
 * alone rather than failing the whole answer, and a body that is not an object reads as empty.
 */
export const regionHealthSchema = z
  .object({
    status: z.enum(regionStatuses).optional().catch(undefined),
    database: z.object({ ok: z.boolean() }).optional().catch(undefined),
    inFlight: z.number().min(0).optional().catch(undefined),
    peers: z
      .array(
        z
          .object({
            backlog: z
              .object({ entries: z.number().optional().catch(undefined) })
              .optional()
              .catch(undefined),
          })
          .catch({}),
      )
      .optional()
      .catch(undefined),
  })
  .catch({});
export type RegionHealthSeen = z.infer<typeof regionHealthSchema>;

/** The edge's `/v1/health`: its view of each region, and the order a request would try them. */
export const edgeHealthSchema = z.object({
  status: z.enum(["ok", "no-region"]),
  order: z.array(z.string()),
  regions: z.array(z.object({ name: z.string(), status: z.string(), breaker: z.string() })),
});
