/**
 * All logs: every device's lines with the same filters as a timeline, under a histogram of volume
 * per level that zooms the time range when dragged across.
 */
import { ErrorBox, IntegrityBanner, Loading } from "../shell/status.tsx";
import { Filters } from "../timeline/filters.tsx";
import { useLines } from "../timeline/lines.ts";
import { LogRows } from "../timeline/log-rows.tsx";
import { filtersOf, setParams, useLocation } from "../url.ts";
import { Histogram } from "./histogram.tsx";

export function AllLogs() {
  const { params } = useLocation();
  const filters = filtersOf(params);
  const view = useLines(filters, null);
  return (
    <section aria-labelledby="all-logs-title">
      <h1 id="all-logs-title">All logs</h1>
      <Filters />
      <Histogram from={filters.from} to={filters.to} />
      {(filters.from || filters.to) && (
        <button type="button" onClick={() => setParams({ from: undefined, to: undefined })}>
          Reset the time range
        </button>
      )}
      <IntegrityBanner errors={view.integrityErrors} />
      {view.failure && <ErrorBox error={view.failure} what="the lines" />}
      {!view.failure && view.lines === null && <Loading what="lines" />}
      {view.lines?.length === 0 && <p>No lines match these filters.</p>}
      {view.lines && view.lines.length > 0 && (
        <LogRows
          lines={view.lines}
          label="Lines of every device"
          showDevice
          onNearStart={view.hasOlder ? view.loadOlder : undefined}
          onNearEnd={view.hasNewer ? () => void view.loadNewer() : undefined}
        />
      )}
    </section>
  );
}
