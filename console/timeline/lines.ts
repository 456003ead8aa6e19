/**
 * The lines a view shows, read through `GET /v1/logs` in time order and extended either way as
 * the reader scrolls: `nextCursor` goes on to newer lines, `prevCursor` back to older ones (its
 * page comes nearest line first, so it is reversed before it goes on top). Opened at a line
 * (`around`, a permalink), the first page holds that line with its context on both sides.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { IntegrityError, LogRecord } from "../../shared/read.ts";
import { ApiFailure, api, type LineFilters } from "../api.ts";

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
      .then((page) => {
        if (!live) return;
        cursors.current = { older: page.prevCursor, newer: page.nextCursor, busy: false };
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
      const page = await api.logs({ cursor, limit: pageLines });
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
