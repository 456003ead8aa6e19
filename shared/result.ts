/** Expected failures are values: callers branch on `ok` and on the error's fields, never on messages. */
export type Result<V, E> = { ok: true; value: V } | { ok: false; error: E };

export function ok<V>(value: V): { ok: true; value: V } {
  return { ok: true, value };
}

export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
