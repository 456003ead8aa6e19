/**
 * Database errors by what caused them, the same for both drivers. postgres.js throws a
 * PostgresError and PGlite a DatabaseError, each with the SQLSTATE in `code`; drizzle wraps either
 * in a DrizzleQueryError (whose message holds the query and its parameters) with the driver's
 * error as its `cause`. SQLSTATE class 22 ("data exception": a NUL in text, a value out of range,
 * bad encoding) means the request carried a value the database cannot hold: the caller's fault,
 * answered 400. Every other database error stays ours (500).
 */
import { messages } from "@electric-sql/pglite";
import postgres from "postgres";

/** A database error as the region tells it apart: what caused it, and where (schema names only). */
export type DatabaseFailure = {
  sqlState: string;
  causedBy: "data" | "database";
  driver: "postgres" | "pglite";
  table?: string;
  column?: string;
  constraint?: string;
};

/** PostgreSQL's names for the SQLSTATE classes a region may meet (the first two characters). */
export const sqlStateClasses: Record<string, string> = {
  "08": "connection exception",
  "22": "data exception",
  "23": "integrity constraint violation",
  "25": "invalid transaction state",
  "40": "transaction rollback",
  "42": "syntax error or access rule violation",
  "53": "insufficient resources",
  "54": "program limit exceeded",
  "57": "operator intervention",
  "58": "system error",
  XX: "internal error",
};

/** What a database error says about its cause, or null when `error` did not come from the database. */
export function databaseFailure(error: unknown): DatabaseFailure | null {
  let at: unknown = error;
  for (let hops = 0; at instanceof Error && hops < 4; hops++, at = at.cause) {
    if (at instanceof postgres.PostgresError) {
      return failure(at.code, "postgres", {
        table: at.table_name,
        column: at.column_name,
        constraint: at.constraint_name,
      });
    }
    if (at instanceof messages.DatabaseError) {
      return failure(at.code, "pglite", { table: at.table, column: at.column, constraint: at.constraint });
    }
  }
  return null;
}

function failure(
  code: string | undefined,
  driver: DatabaseFailure["driver"],
  where: Pick<DatabaseFailure, "table" | "column" | "constraint">,
): DatabaseFailure {
  const sqlState = code ?? "";
  const located = Object.fromEntries(Object.entries(where).filter(([, name]) => name !== undefined));
  return { sqlState, causedBy: sqlState.startsWith("22") ? "data" : "database", driver, ...located };
}
