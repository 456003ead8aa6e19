/**
 * `GET /v1/regions` (read key): the regions as the edge sees them, for the console. Each region's
 * state comes from the shared health table (status, backlog, last contact, latency); each is also
 * asked, in parallel and signed as the edge with the read key, for its digest of this app's
 * batches (`/internal/v1/apps/:appId/digest`), and `digestsAgree` says whether every region
 * answered with the same one. `servedBy` is the first region in this client's routing order that
 * answered: the one its other reads go to now. A region that does not answer in time has a null
 * digest (and then the digests do not agree); the answer itself never waits past one attempt.
 */
import { Hono } from "hono";
import { type AppDigest, appDigestSchema, type RegionsAnswer } from "../../shared/console-api.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import type { EdgeEnv } from "../context.ts";
import { attemptTimeoutMs, createRegionClient } from "../regions.ts";
import { clientLocation } from "../routing/choice.ts";

export const regions = new Hono<EdgeEnv>().get("/", requireKey("read"), async (c) => {
  const client = createRegionClient({ edgeSecret: c.var.config.edgeSecret });
  const snapshot = await c.var.services.router.health.snapshot();
  const plan = await c.var.services.router.plan(clientLocation(c.req.raw.cf));
  const byOrder = [...plan].sort(
    (a, b) => (a.order ?? Number.POSITIVE_INFINITY) - (b.order ?? Number.POSITIVE_INFINITY),
  );
  const digests = await Promise.all(
    byOrder.map(async ({ region }): Promise<AppDigest | null> => {
      const answer = await client.forward(
        [region],
        {
          method: "GET",
          pathAndQuery: internalPaths.digest(c.var.appId),
          requestId: c.var.requestId,
          appKey: c.var.appKey,
        },
        { deadlineMs: attemptTimeoutMs },
      );
      if (!answer.ok || answer.value.response.status !== 200) return null;
      const parsed = appDigestSchema.safeParse(await answer.value.response.json().catch(() => null));
      return parsed.success ? parsed.data : null;
    }),
  );
  const views = byOrder.map(({ region, status }, index) => {
    const state = snapshot.regions.find((entry) => entry.name === region.name);
    const digest = digests[index] ?? null;
    return {
      name: region.name,
      status,
      backlog: state?.backlog ?? null,
      lastContactAt: iso(state?.lastSuccessAt),
      latencyMs: state?.latencyMs ?? null,
      digest: digest?.digest ?? null,
      batches: digest?.batches ?? null,
    };
  });
  const servedBy = views.find((view) => view.digest !== null)?.name ?? null;
  if (servedBy) c.set("region", servedBy);
  const first = views[0]?.digest ?? null;
  return c.json({
    servedBy,
    regions: views,
    digestsAgree: first !== null && views.every((view) => view.digest === first),
    checkedAt: new Date().toISOString(),
  } satisfies RegionsAnswer);
});

function iso(ms: number | null | undefined): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}
