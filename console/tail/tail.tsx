/**
 * Live tail: new lines for the current filters, polled every second (`GET /v1/tail` with the
 * cursor the last poll returned), so a line shows within about a second of its upload being
 * acknowledged, whichever region answers. Pause keeps polling off; the buffer keeps the newest
 * `bufferLinesMax` lines.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { IntegrityError, LogRecord } from "../../shared/read.ts";
import { ApiFailure, api } from "../api.ts";
import { ErrorBox, IntegrityBanner } from "../shell/status.tsx";
import { Filters } from "../timeline/filters.tsx";
import { LogRows } from "../timeline/log-rows.tsx";
import { filtersOf, useLocation } from "../url.ts";

const pollMs = 1000;
const bufferLinesMax = 5000;

export function Tail() {
  const { params } = useLocation();
  const filters = filtersOf(params);
  const key = JSON.stringify(filters);
  const [lines, setLines] = useState<LogRecord[]>([]);
  const [paused, setPaused] = useState(false);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [integrityErrors, setIntegrityErrors] = useState<IntegrityError[]>([]);
  const cursor = useRef<string | undefined>(undefined);

  useEffect(() => {
    cursor.current = undefined;
    setLines([]);
  }, [key]);

  useEffect(() => {
    if (paused) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const page = await api.tail({ ...filters, after: cursor.current });
        if (!live) return;
        cursor.current = page.nextCursor;
        setFailure(null);
        if (page.logs.length > 0) setLines((current) => [...current, ...page.logs].slice(-bufferLinesMax));
        if (page.integrityErrors.length > 0) setIntegrityErrors((current) => [...current, ...page.integrityErrors]);
      } catch (error) {
        // A region going down is a failed poll or two; the next one goes to another region.
        if (live) setFailure(error instanceof ApiFailure ? error : new ApiFailure(0, "NETWORK", String(error)));
      }
      if (live) timer = setTimeout(poll, pollMs);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, paused]);

  return (
    <section aria-labelledby="tail-title">
      <h1 id="tail-title">Live tail</h1>
      <Filters timeRange={false} />
      <p role="status" aria-live="polite">
        {paused ? "Paused." : "Following new lines (every second)."} {lines.length} line{lines.length === 1 ? "" : "s"}{" "}
        in view (the newest {bufferLinesMax} are kept).{" "}
        <button type="button" onClick={() => setPaused(!paused)}>
          {paused ? "Resume" : "Pause"}
        </button>
      </p>
      {failure && <ErrorBox error={failure} what="the live tail" />}
      <IntegrityBanner errors={integrityErrors} />
      {lines.length > 0 && <LogRows lines={lines} label="Live lines" showDevice follow={!paused} />}
    </section>
  );
}
