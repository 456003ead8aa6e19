/**
 * An erasure is control-plane data every region must hold, so the edge does not route it to the
 * healthiest region: it calls every region at once (as `GET /v1/regions` asks each for its digest),
 * one attempt each, and reports what each answered. A region missed here learns the erasure from
 * its peers by anti-entropy (regional/store/control.ts).
 */
import type { Context } from "hono";
import type { RegionErasure } from "../../shared/lifecycle.ts";
import { regionErasureSchema } from "../../shared/lifecycle.ts";
import type { EdgeEnv } from "../context.ts";
import { attemptTimeoutMs, createRegionClient, type RegionCall } from "../region-client.ts";

/** One region's answer: its state of the erasure, that it does not know it, a refusal, or no answer. */
export type RegionReply =
  | { region: string; kind: "known"; state: RegionErasure }
  | { region: string; kind: "unknown" }
  | { region: string; kind: "refused"; status: number; body: string }
  | { region: string; kind: "unreachable" };

export async function askEveryRegion(c: Context<EdgeEnv>, call: Omit<RegionCall, "requestId" | "appKey">) {
  const client = createRegionClient({ edgeSecret: c.var.config.edgeSecret });
  return Promise.all(
    c.var.config.regions.map(async (region): Promise<RegionReply> => {
      const answer = await client.forward(
        [region],
        { ...call, requestId: c.var.requestId, appKey: c.var.appKey },
        { deadlineMs: attemptTimeoutMs },
      );
      if (!answer.ok) return { region: region.name, kind: "unreachable" };
      const { response } = answer.value;
      const body = await response.text().catch(() => null);
      if (body === null) return { region: region.name, kind: "unreachable" };
      if (response.status === 404) return { region: region.name, kind: "unknown" };
      if (response.status !== 200) return { region: region.name, kind: "refused", status: response.status, body };
      const state = regionErasureSchema.safeParse(safeJson(body));
      return state.success
        ? { region: region.name, kind: "known", state: state.data }
        : { region: region.name, kind: "unreachable" };
    }),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
