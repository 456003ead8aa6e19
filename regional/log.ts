/**
 * The region's logger (pino) and the one way it writes errors. Logged errors name their type,
 * code and SQLSTATE, never what a query carried: drizzle's errors put the query text and every
 * parameter (device ids, wrapped data keys, ciphertext) in their message and fields, and a
 * database's own message may quote the offending value, so neither is ever logged. Other errors
 * keep their message and stack.
 */
import { DrizzleQueryError } from "drizzle-orm";
import { type DestinationStream, type Logger, pino } from "pino";
import { ApiError } from "../shared/errors.ts";
import { databaseFailure, sqlStateClasses } from "./db/errors.ts";

export type LoggedError = {
  type: string;
  message: string;
  code?: string;
  sqlState?: string;
  causedBy?: string;
  table?: string;
  column?: string;
  constraint?: string;
  stack?: string;
  cause?: LoggedError;
};

/** The `err` serializer: what a log line may say about an error. */
export function serializeError(error: unknown, hops = 0): LoggedError {
  if (!(error instanceof Error)) return { type: typeof error, message: "a thrown non-error value" };
  const failure = databaseFailure(error);
  if (failure !== null) {
    const { sqlState, driver, ...where } = failure;
    const driverType = driver === "postgres" ? "PostgresError" : "PGliteDatabaseError";
    return {
      type: error instanceof DrizzleQueryError ? `DrizzleQueryError(${driverType})` : driverType,
      sqlState,
      message: `${sqlStateClasses[sqlState.slice(0, 2)] ?? "database error"} (SQLSTATE ${sqlState || "unknown"})`,
      ...where,
    };
  }
  if (error instanceof DrizzleQueryError) {
    // A query that failed before reaching the database: its message is the query and parameters.
    return pickDefined({
      type: error.name,
      message: "query failed",
      cause: error.cause === undefined || hops >= 3 ? undefined : serializeError(error.cause, hops + 1),
    });
  }
  return pickDefined({
    type: error.name,
    message: error.message,
    code: error instanceof ApiError ? error.code : undefined,
    stack: error.stack,
    cause: error.cause === undefined || hops >= 3 ? undefined : serializeError(error.cause, hops + 1),
  });
}

export function createLogger(options: { level: string; region: string }, destination?: DestinationStream): Logger {
  return pino(
    { level: options.level, base: { region: options.region }, serializers: { err: serializeError } },
    destination,
  );
}

function pickDefined<T extends Record<string, unknown>>(object: T): T {
  for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return object;
}
