/**
 * One error vocabulary for the edge and the regions. Every failure a client can see has a code
 * here; `codeToStatus` is the only place that maps codes to HTTP statuses, and `errorBody` the only
 * place that shapes the JSON. Handlers throw `ApiError`; each app's `onError` answers with it.
 * `errorBodySchema` is how a tier reads another's error answer.
 */
import { z } from "zod";

export const errorCodes = [
  "BAD_REQUEST",
  "INVALID_BODY",
  "UNAUTHORIZED",
  "APP_KEY_REJECTED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BATCH_CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "RATE_LIMITED",
  "INTERNAL",
  "BAD_ENVIRONMENT",
  "REGION_UNAVAILABLE",
  "QUORUM_UNAVAILABLE",
  "OVERLOADED",
  "INTEGRITY",
  "ERASED",
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export const codeToStatus = {
  BAD_REQUEST: 400,
  INVALID_BODY: 400,
  UNAUTHORIZED: 401,
  /**
   * A region refused the app key an edge read carries (not a live read key of that app there).
   * Only this 401 is the region's verdict on the client, which the edge passes on (as
   * UNAUTHORIZED); any other 401 from a region refuses the edge's own signature, a configuration
   * error, and the edge tries another region instead.
   */
  APP_KEY_REJECTED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BATCH_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  BAD_ENVIRONMENT: 500,
  REGION_UNAVAILABLE: 503,
  /**
   * Stored here, but not yet in enough regions to acknowledge: retry the same batch later. The edge
   * does not send it to another region, which would store a second origin copy.
   */
  QUORUM_UNAVAILABLE: 503,
  /**
   * The region is at capacity and refused the upload before storing anything: another region may
   * take it at once (the edge does, and keeps the busy region's breaker closed).
   */
  OVERLOADED: 503,
  INTEGRITY: 500,
  /** An erasure covers it: the app was deleted (or the device erased after this batch arrived). */
  ERASED: 410,
} as const satisfies Record<ErrorCode, number>;

export type ErrorStatus = (typeof codeToStatus)[ErrorCode];

/** `{error: {code, message, requestId}}`, as every tier answers a failure (`errorBody`). */
export const errorBodySchema = z.object({
  error: z.object({ code: z.enum(errorCodes), message: z.string(), requestId: z.string() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** An error meant for the client: its code decides the status, its message says what is wrong. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  /** Seconds the client should wait before retrying, sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, options?: { retryAfterSeconds?: number }) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get status(): ErrorStatus {
    return codeToStatus[this.code];
  }
}

export function errorBody(code: ErrorCode, message: string, requestId: string): ErrorBody {
  return { error: { code, message, requestId } };
}

/** The error a tier answered, or null when the text is not a Stormlog error body (a proxy's page, say). */
export function parseErrorBody(text: string): ErrorBody | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = errorBodySchema.safeParse(body);
  return parsed.success ? parsed.data : null;
}

/** Is this a well-formed error body, as answered by any Stormlog tier? */
export function isErrorBody(value: unknown): value is ErrorBody {
  return errorBodySchema.safeParse(value).success;
}
