/**
 * `PUT /v1/webhook` (manage key; `{"url": "https://…"}`): sets the app's issue webhook (see
 * shared/issues.ts) with a new signing secret, on every region at once, since whichever region a
 * batch arrives at sends its events. Answers 200 `{url, secret}` (the secret shown this once) only
 * when every region stored it; otherwise 503 with Retry-After, as a region without it would
 * silently send nothing: calling again sets a new secret everywhere. The admin CLI's
 * `webhooks set` does the same.
 */
import { Hono } from "hono";
import { z } from "zod";
import { parseWith } from "../../shared/batch.ts";
import { toHex } from "../../shared/encoding.ts";
import { webhookAnswerSchema, webhookConfigSchema } from "../../shared/issues.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import { readJson } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { attemptTimeoutMs, createRegionClient } from "../region-client.ts";
import { clientLocation } from "../routing/choice.ts";
import { answerFromRegion, unavailable } from "../routing/region-answer.ts";

const webhookRequestSchema = z.strictObject({ url: webhookConfigSchema.shape.url });

export const webhook = new Hono<EdgeEnv>().put("/", requireKey("manage"), async (c) => {
  const { url } = parseWith(webhookRequestSchema, await readJson(c.req.raw));
  const secret = `whsec_${toHex(crypto.getRandomValues(new Uint8Array(24)))}`;
  const plan = await c.var.services.router.plan(clientLocation(c.req.raw.cf));
  const client = createRegionClient({ edgeSecret: c.var.config.edgeSecret });
  const call = {
    method: "PUT" as const,
    pathAndQuery: internalPaths.webhook(c.var.appId),
    body: JSON.stringify({ url, secret }),
    requestId: c.var.requestId,
    appKey: c.var.appKey,
  };
  const answers = await Promise.all(
    plan.map(async ({ region }) => {
      const sent = await client.forward([region], call, { deadlineMs: attemptTimeoutMs });
      return sent.ok ? sent : null;
    }),
  );
  const stored = await Promise.all(
    answers.map(async (sent) =>
      sent?.value.response.status === 200
        ? webhookAnswerSchema.safeParse(
            await sent.value.response
              .clone()
              .json()
              .catch(() => null),
          ).success
        : false,
    ),
  );
  if (stored.length > 0 && stored.every(Boolean)) return c.json({ url, secret });
  // A region's verdict on the request (a refused key, an unknown app) is the client's answer.
  const refused = answers.find((sent) => sent !== null && sent.value.response.status !== 200);
  if (refused) return answerFromRegion(c, refused);
  throw unavailable("not every region stored the webhook; call again (it sets a new secret everywhere)");
});
