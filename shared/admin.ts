/**
 * Control-plane answers: the admin API's (a region's admin listener, `adminPaths` in regions.ts),
 * as the admin CLI and `npm start` read them, and the revoked-key list the edge reads. The schemas
 * both sides share, so the caller parses what the region answers instead of casting it. The
 * regional store returns these records.
 */
import { z } from "zod";
import { keyKinds } from "./keys.ts";

export const appRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  /** Days its batches are kept (shared/lifecycle.ts). */
  retentionDays: z.number().int(),
});
export type AppRecord = z.infer<typeof appRecordSchema>;

/** A key as a region lists it: its hash and label, never the key. */
export const keyRecordSchema = z.object({
  hash: z.string(),
  kind: z.enum(keyKinds),
  label: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type KeyRecord = z.infer<typeof keyRecordSchema>;

/** `PUT /apps/:appId`. */
export const appAnswerSchema = z.object({ app: appRecordSchema });
/** `GET /apps`. */
export const appsAnswerSchema = z.object({ apps: z.array(appRecordSchema) });
export type AppsAnswer = z.infer<typeof appsAnswerSchema>;
/** `GET /apps/:appId/keys`. */
export const keysAnswerSchema = z.object({ keys: z.array(keyRecordSchema) });
export type KeysAnswer = z.infer<typeof keysAnswerSchema>;
/** `POST /apps/:appId/keys`. */
export const keyAnswerSchema = z.object({ key: keyRecordSchema });
/** `POST /keys/revoke`. */
export const revokedAnswerSchema = z.object({ revoked: z.literal(true) });

/** `GET /internal/v1/keys/revoked`: what the edge refuses (edge/revocations.ts). */
export const revokedKeysAnswerSchema = z.object({ keyHashes: z.array(z.string()) });
export type RevokedKeysAnswer = z.infer<typeof revokedKeysAnswerSchema>;
