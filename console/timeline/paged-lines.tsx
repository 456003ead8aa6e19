/**
 * What the timeline and the all-logs view show under their filters: integrity errors as a banner,
 * the state of the read (loading, failed, nothing matches), then the rows, which ask for older
 * and newer pages as they are scrolled near either end.
 */
import { ErrorBox, IntegrityBanner, Loading } from "../shell/status.tsx";
import type { Lines } from "./lines.ts";
import { LogRows } from "./log-rows.tsx";

export function PagedLines(props: {
  view: Lines;
  label: string;
  what: string;
  anchor?: string | null;
  showDevice?: boolean;
}) {
  const { view } = props;
  return (
    <>
      <IntegrityBanner errors={view.integrityErrors} />
      {view.failure && <ErrorBox error={view.failure} what={props.what} />}
      {!view.failure && view.lines === null && <Loading what="lines" />}
      {view.lines?.length === 0 && !view.hasNewer && <p>No lines match these filters.</p>}
      {view.lines?.length === 0 && view.hasNewer && (
        <p>
          No lines match in the logs searched so far.{" "}
          <button type="button" onClick={() => void view.loadNewer()}>
            Search further
          </button>
        </p>
      )}
      {view.lines && view.lines.length > 0 && (
        <LogRows
          lines={view.lines}
          label={props.label}
          anchor={props.anchor}
          showDevice={props.showDevice}
          onNearStart={view.hasOlder ? view.loadOlder : undefined}
          onNearEnd={view.hasNewer ? () => void view.loadNewer() : undefined}
        />
      )}
    </>
  );
}
