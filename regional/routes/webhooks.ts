/**
 * `PUT /admin/v1/apps/:appId/webhook` with `{url, secret}`: where this region sends the app's
 * issue webhooks (regional/webhooks/sender.ts) and what it signs them with. The admin CLI
 * (`webhooks set`) sends the same config to every region, since whichever region a batch
 * arrives at is the one that sends its events. Answers the URL, never the secret.
 */
import { Hono } from "hono";
import { parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import { webhookConfigSchema } from "../../shared/issues.ts";
import type { Guarded, RegionDeps, RegionEnv } from "../context.ts";
import { requireAppKey } from "../read-key.ts";
import { controlBodyBytesMax, parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";

type Deps = Pick<RegionDeps, "store" | "webhooks"> & Guarded;

export function adminWebhookRoute(deps: Deps) {
  return new Hono<RegionEnv>().put("/apps/:appId/webhook", deps.guard, (c) =>
    setWebhook(deps, c.req.raw, c.req.param("appId")),
  );
}

/** `PUT /internal/v1/apps/:appId/webhook`: the same from the edge (`PUT /v1/webhook`), with a manage key. */
export function webhookRoute(deps: Deps) {
  return new Hono<RegionEnv>().put("/apps/:appId/webhook", deps.guard, requireAppKey(deps, "manage"), (c) =>
    setWebhook(deps, c.req.raw, c.req.param("appId")),
  );
}

async function setWebhook({ store, webhooks }: Deps, request: Request, appIdParam: string): Promise<Response> {
  const appId = parseAppId(appIdParam);
  const raw = await readSignedBody(request, controlBodyBytesMax);
  const config = parseWith(webhookConfigSchema, parseJsonBody(request.headers.get("content-type") ?? undefined, raw));
  if (!(await store.appSettings(appId))) throw new ApiError("NOT_FOUND", "no such app in this region");
  await webhooks.setWebhook(appId, config);
  return Response.json({ appId, url: config.url });
}
