/**
 * All logs: every device's lines with the same filters as a timeline, under a histogram of volume
 * per level that zooms the time range when dragged across.
 */
import { Filters } from "../timeline/filters.tsx";
import { useLines } from "../timeline/lines.ts";
import { PagedLines } from "../timeline/paged-lines.tsx";
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
      <PagedLines view={view} label="Lines of every device" what="the lines" showDevice />
    </section>
  );
}
