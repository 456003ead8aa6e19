/**
 * Usage (`GET /v1/usage`): what the app keeps, per day of receipt over its whole retention: lines,
 * stored bytes, batches and the day retention removes them, with totals, so a team sees what it
 * keeps and what a shorter retention would free. Counted by the regions from clear metadata only.
 * The bars are plain CSS widths beside the numbers (no chart library on the first load); the
 * numbers carry the meaning, so the bars are hidden from screen readers.
 */
import { useEffect, useState } from "preact/hooks";
import type { UsageAnswer } from "../../shared/lifecycle.ts";
import { type ApiFailure, api } from "../api.ts";
import { formatBytes, formatCount } from "../format.ts";
import { Link } from "../shell/link.tsx";
import { ErrorBox, Loading } from "../shell/status.tsx";

export function Usage({ appId, manage }: { appId: string; manage: boolean }) {
  const [usage, setUsage] = useState<UsageAnswer | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  useEffect(() => {
    api
      .usage()
      .then(setUsage)
      .catch((error: ApiFailure) => setFailure(error));
  }, []);

  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      {failure && <ErrorBox error={failure} what="the app's usage" />}
      {!failure && !usage && <Loading what="the app's usage" />}
      {usage && <UsageTable usage={usage} appId={appId} manage={manage} />}
    </section>
  );
}

function UsageTable({ usage, appId, manage }: { usage: UsageAnswer; appId: string; manage: boolean }) {
  // Newest first: today's receipt is what a team checks most.
  const days = [...usage.days].sort((a, b) => b.day.localeCompare(a.day));
  const largest = Math.max(1, ...days.map((day) => day.storedBytes));
  return (
    <>
      <p>
        Retention: <strong data-testid="usage-retention">{usage.retentionDays} days</strong>. Each day's batches stop
        being readable on the day they expire.{" "}
        {manage ? <Link to={`/settings?app=${appId}`}>Change the retention</Link> : "A manage key can change it."}
      </p>
      {days.length === 0 ? (
        <p>Nothing is stored for this app yet.</p>
      ) : (
        <table class="usage">
          <caption class="visually-hidden">What the app keeps per day of receipt (UTC)</caption>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">Lines</th>
              <th scope="col">Stored</th>
              <th scope="col">Batches</th>
              <th scope="col">Expires on</th>
            </tr>
          </thead>
          <tbody>
            {days.map((day) => (
              <tr key={day.day}>
                <th scope="row">{day.day}</th>
                <td>{formatCount(day.lines)}</td>
                <td>
                  <span class="bar" aria-hidden="true" style={{ width: `${(day.storedBytes / largest) * 100}%` }} />
                  {formatBytes(day.storedBytes)}
                </td>
                <td>{formatCount(day.batches)}</td>
                <td>{day.expiresOn}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              <td data-testid="usage-total-lines">{formatCount(usage.totals.lines)}</td>
              <td>{formatBytes(usage.totals.storedBytes)}</td>
              <td>{formatCount(usage.totals.batches)}</td>
              <td />
            </tr>
          </tfoot>
        </table>
      )}
    </>
  );
}
