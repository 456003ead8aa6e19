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
import { controlBodyBytesMax, parseAppId, parseJsonBody } from "../request.ts";
import { readSignedBody } from "../signature.ts";

export function adminWebhookRoute({ store, webhooks, guard }: Pick<RegionDeps, "store" | "webhooks"> & Guarded) {
  return new Hono<RegionEnv>().put("/apps/:appId/webhook", guard, async (c) => {
    const appId = parseAppId(c.req.param("appId"));
    const raw = await readSignedBody(c.req.raw, controlBodyBytesMax);
    const config = parseWith(webhookConfigSchema, parseJsonBody(c.req.header("content-type"), raw));
    if (!(await store.appSettings(appId))) throw new ApiError("NOT_FOUND", "no such app in this region");
    await webhooks.setWebhook(appId, config);
    return c.json({ appId, url: config.url });
  });
}
