/**
 * `GET /v1/app` (read key): the app and its settings, from the healthiest region that answers.
 * `PATCH /v1/app` (manage key; `{"retentionDays": 7}`): the change, stamped with the edge's time
 * as `updatedAt`, is sent to every region at once; each keeps the latest change it has heard
 * (regional/store/settings.ts), and anti-entropy brings it to a region that missed it. The answer
 * is 200 with the settings as soon as one region stored the change (the first region in this
 * client's routing order that did), or 503 with Retry-After if none did, so the client tries again.
 */
import { Hono } from "hono";
import { z } from "zod";
import { parseWith } from "../../shared/batch.ts";
import { ApiError } from "../../shared/errors.ts";
import {
  type AppSettingsAnswer,
  type AppSettingsChange,
  appSettingsAnswerSchema,
  appSettingsPatchSchema,
} from "../../shared/lifecycle.ts";
import { internalPaths } from "../../shared/regions.ts";
import { requireKey } from "../auth.ts";
import { readJson } from "../body.ts";
import type { EdgeEnv } from "../context.ts";
import { changeEveryRegion, forwardRead } from "../routing/region-answer.ts";

export const appSettings = new Hono<EdgeEnv>()
  .get("/", requireKey("read"), (c) => forwardRead(c, z.strictObject({}), internalPaths.appSettings))
  .patch("/", requireKey("manage"), async (c) => {
    const patch = parseWith(appSettingsPatchSchema, await readJson(c.req.raw));
    // Retention is the only setting so far, and a patch holds at least one.
    if (patch.retentionDays === undefined) throw new ApiError("INVALID_BODY", "body.retentionDays: required");
    const change: AppSettingsChange = { retentionDays: patch.retentionDays, updatedAt: new Date().toISOString() };
    return changeEveryRegion(
      c,
      { pathAndQuery: internalPaths.appSettings(c.var.appId), body: change },
      appSettingsAnswerSchema,
      (stored) => c.json(stored satisfies AppSettingsAnswer),
    );
  });
