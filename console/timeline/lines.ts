/**
 * The lines a view shows, read through `GET /v1/logs` in time order and extended either way as
 * the reader scrolls: `nextCursor` goes on to newer lines, `prevCursor` back to older ones (its
 * page comes nearest line first, so it is reversed before it goes on top). Opened at a line
 * (`around`, a permalink), the first page holds that line with its context on both sides.
 *
 * A page can come back empty with a cursor onward: a region spends at most a second on one, so a
 * search for a rare word over a large app passes over batches for several pages before its first
 * match. Such pages are followed at once, up to `emptyPagesMax` in a row; past that the view says
 * nothing matched so far and offers to search further (`hasNewer`), never "no lines match".
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { IntegrityError, LogPage, LogRecord } from "../../shared/read.ts";
import { ApiFailure, api, type LineFilters } from "../api.ts";

/** Empty pages followed in a row before the reader is asked: about a second of a region's work each. */
export const emptyPagesMax = 10;

/**
 * `page`, or while it holds no line and has a cursor on, the pages after it: the first with lines,
 * the last one read, or the one that ends the read. Integrity errors of all of them.
 */
export async function followEmptyPages(page: LogPage, next: (cursor: string) => Promise<LogPage>): Promise<LogPage> {
  let current = page;
  const integrityErrors = [...page.integrityErrors];
  for (let followed = 0; current.logs.length === 0 && current.nextCursor && followed < emptyPagesMax; followed++) {
    current = await next(current.nextCursor);
    integrityErrors.push(...current.integrityErrors);
  }
  return { ...current, integrityErrors };
}

export type Lines = {
  lines: LogRecord[] | null;
  failure: ApiFailure | null;
  integrityErrors: IntegrityError[];
  hasOlder: boolean;
  hasNewer: boolean;
  loadOlder: () => Promise<number>;
  loadNewer: () => Promise<number>;
};

const pageLines = 200;

export function useLines(filters: LineFilters, around: string | null): Lines {
  const [lines, setLines] = useState<LogRecord[] | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [integrityErrors, setIntegrityErrors] = useState<IntegrityError[]>([]);
  const cursors = useRef<{ older: string | null; newer: string | null; busy: boolean }>({
    older: null,
    newer: null,
    busy: false,
  });
  const [, setTick] = useState(0);
  const key = JSON.stringify([filters, around]);

  useEffect(() => {
    let live = true;
    setLines(null);
    setFailure(null);
    setIntegrityErrors([]);
    api
      .logs({ ...filters, order: "asc", limit: pageLines, ...(around ? { around } : {}) })
      .then(async (first) => {
        const page = await followEmptyPages(first, (cursor) => api.logs({ ...filters, cursor, limit: pageLines }));
        if (!live) return;
        // Back from the first page, which starts at the beginning of the filters or at the line.
        cursors.current = { older: first.prevCursor, newer: page.nextCursor, busy: false };
        setLines(page.logs);
        setIntegrityErrors(page.integrityErrors);
      })
      .catch((error: ApiFailure) => live && setFailure(error));
    return () => {
      live = false;
    };
  }, [key]);

  async function load(which: "older" | "newer"): Promise<number> {
    const cursor = cursors.current[which];
    if (!cursor || cursors.current.busy) return 0;
    cursors.current.busy = true;
    try {
      // A cursor is a position, not a query: the filters go with it, or the next page has every line.
      const read = (at: string) => api.logs({ ...filters, cursor: at, limit: pageLines });
      const page = await followEmptyPages(await read(cursor), read);
      cursors.current[which] = page.nextCursor;
      const got = which === "older" ? [...page.logs].reverse() : page.logs;
      setLines((current) => (which === "older" ? [...got, ...(current ?? [])] : [...(current ?? []), ...got]));
      setIntegrityErrors((current) => [...current, ...page.integrityErrors]);
      return got.length;
    } catch (error) {
      setFailure(error instanceof ApiFailure ? error : new ApiFailure(0, "NETWORK", String(error)));
      return 0;
    } finally {
      cursors.current.busy = false;
      setTick((tick) => tick + 1);
    }
  }

  return {
    lines,
    failure,
    integrityErrors,
    hasOlder: cursors.current.older !== null,
    hasNewer: cursors.current.newer !== null,
    loadOlder: () => load("older"),
    loadNewer: () => load("newer"),
  };
}
