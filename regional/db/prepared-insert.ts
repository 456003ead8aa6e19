/**
 * Inserts whose statement drizzle builds once per shape, for the write path's many-row inserts.
 *
 * Drizzle writes a statement's text by walking every value of every row, each time: for a group
 * commit's batch rows (25 columns) and device upserts that was a tenth of a peer's CPU and a
 * twentieth of an origin's (profiled under load). The text depends only on the rows' shape (how
 * many, which columns each gives, which of them are null or SQL), so it is built once per shape
 * with drizzle's placeholders, and each insert fills them: the values go through the same column
 * encoders as drizzle's own path, and the statement is the one drizzle would have built.
 */
import { is, type Query, SQL, sql } from "drizzle-orm";
import type { PgInsertBase, PgInsertValue, PgQueryResultHKT, PgTable } from "drizzle-orm/pg-core";
import type { Database, Transaction } from "./client.ts";

/** Shapes kept per insert, the least recently used dropped past it (and built again if it returns). */
const shapesMax = 256;

type Insert<T extends PgTable> = PgInsertBase<T, PgQueryResultHKT>;

/**
 * `insert(db, rows)` inserts `rows` into `table`, finished by `finish` (an `onConflict…` clause,
 * which must not depend on the rows). A column given as SQL is part of the shape by identity:
 * give it as a constant (a fresh SQL object each time is correct, but built each time).
 */
export function preparedInsert<T extends PgTable>(
  table: T,
  finish: (insert: Insert<T>) => { toSQL(): Query } = (insert) => insert,
): (db: Database | Transaction, rows: readonly PgInsertValue<T>[]) => Promise<void> {
  const built = new Map<string, Query>();
  return async (db, rows) => {
    if (rows.length === 0) return;
    const values: Record<string, unknown> = {};
    const placeheld: Record<string, unknown>[] = [];
    let shape = "";
    for (const [index, row] of rows.entries()) {
      const placed: Record<string, unknown> = {};
      shape += `;${index}`;
      for (const [column, value] of Object.entries(row)) {
        if (value === undefined) continue;
        // Null as drizzle writes it, in the text: a column encoder is never handed a null.
        if (value === null) {
          placed[column] = null;
          shape += `,${column}=null`;
        } else if (is(value, SQL)) {
          placed[column] = value;
          shape += `,${column}=${sqlId(value)}`;
        } else {
          const name = `${index}.${column}`;
          placed[column] = sql.placeholder(name);
          values[name] = value;
          shape += `,${column}`;
        }
      }
      placeheld.push(placed);
    }
    let query = built.get(shape);
    if (query) built.delete(shape);
    else query = finish(db.insert(table).values(placeheld as PgInsertValue<T>[]) as Insert<T>).toSQL();
    built.set(shape, query);
    if (built.size > shapesMax) built.delete(built.keys().next().value as string);
    await db._.session.prepareQuery(query, undefined, undefined, false).execute(values);
  };
}

const sqlIds = new WeakMap<SQL, number>();
let nextSqlId = 0;

function sqlId(value: SQL): number {
  let id = sqlIds.get(value);
  if (id === undefined) {
    id = nextSqlId++;
    sqlIds.set(value, id);
  }
  return id;
}
