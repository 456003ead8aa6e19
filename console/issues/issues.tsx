/**
 * Issues (`GET /v1/issues`, shared/issues.ts): crashes, reported issues and user feedback, grouped
 * by the regions, most recently seen first, filtered by status (`?status=` in the URL). A group
 * (`/issues/<id>`) shows its sample and its latest occurrences, each a link into its device's
 * timeline at that line; a manage-key session can resolve, mute or reopen it (the edge refuses a
 * read key's change anyway).
 */
import { useEffect, useState } from "preact/hooks";
import type { IssueDetail, IssueGroup, IssuePage, IssueStatus } from "../../shared/issues.ts";
import { ApiFailure, api } from "../api.ts";
import { formatCount, formatTime } from "../format.ts";
import { Link } from "../shell/link.tsx";
import { ErrorBox, Loading } from "../shell/status.tsx";
import { setParams, useLocation } from "../url.ts";

const statuses = ["open", "resolved", "muted"] as const;

const titleOf = (group: IssueGroup) => group.title ?? "(title erased with its device)";
export function Issues({ appId }: { appId: string }) {
  const { params } = useLocation();
  const status = params.get("status") ?? "open";
  const [page, setPage] = useState<IssuePage | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [more, setMore] = useState<IssueGroup[]>([]);

  useEffect(() => {
    setPage(null);
    setMore([]);
    setFailure(null);
    api
      .issues({ status: status === "all" ? undefined : status })
      .then(setPage)
      .catch((error: ApiFailure) => setFailure(error));
  }, [status]);

  const groups = [...(page?.issues ?? []), ...more];
  return (
    <section aria-labelledby="issues-title">
      <h1 id="issues-title">Issues</h1>
      <label>
        Status{" "}
        <select value={status} onChange={(event) => setParams({ status: event.currentTarget.value })}>
          {[...statuses, "all"].map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </label>
      {failure && <ErrorBox error={failure} what="the app's issues" />}
      {!failure && !page && <Loading what="the app's issues" />}
      {page && groups.length === 0 && <p>No {status === "all" ? "" : `${status} `}issues.</p>}
      {groups.length > 0 && (
        <table class="issues">
          <thead>
            <tr>
              <th scope="col">Issue</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Events</th>
              <th scope="col">Devices</th>
              <th scope="col">Versions</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => (
              <tr key={group.id}>
                <td>
                  <Link to={`/issues/${group.id}?app=${appId}`}>{titleOf(group)}</Link>
                </td>
                <td>{group.type}</td>
                <td>{group.status}</td>
                <td>{formatCount(group.count)}</td>
                <td>{formatCount(group.devices)}</td>
                <td>{group.appVersions.join(", ")}</td>
                <td>{formatTime(group.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page?.cursor && more.length === 0 && (
        <button
          type="button"
          onClick={() =>
            api
              .issues({ status: status === "all" ? undefined : status, cursor: page.cursor ?? undefined })
              .then((next) => {
                setMore(next.issues);
              })
              .catch((error: ApiFailure) => setFailure(error))
          }
        >
          More
        </button>
      )}
    </section>
  );
}

export function Issue({ appId, issueId, manage }: { appId: string; issueId: string; manage: boolean }) {
  const [issue, setIssue] = useState<IssueDetail | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  useEffect(() => {
    api
      .issue(issueId)
      .then(setIssue)
      .catch((error: ApiFailure) => setFailure(error));
  }, [issueId]);

  const change = async (status: IssueStatus) => {
    try {
      const answer = await api.setIssueStatus(issueId, status);
      setIssue((held) => (held ? { ...held, status: answer.status } : held));
    } catch (error) {
      setFailure(error instanceof ApiFailure ? error : new ApiFailure(0, "NETWORK", String(error)));
    }
  };

  return (
    <section aria-labelledby="issue-title">
      <p>
        <Link to={`/issues?app=${appId}`}>All issues</Link>
      </p>
      {failure && <ErrorBox error={failure} what="this issue" />}
      {!failure && !issue && <Loading what="this issue" />}
      {issue && (
        <>
          <h1 id="issue-title">{titleOf(issue)}</h1>
          <p>
            {issue.type}, <strong>{issue.status}</strong>: {formatCount(issue.count)} events on{" "}
            {formatCount(issue.devices)} devices, first {formatTime(issue.firstSeen)}, last {formatTime(issue.lastSeen)}
            {issue.appVersions.length > 0 && `, versions ${issue.appVersions.join(", ")}`}.
          </p>
          {manage && (
            <p>
              {statuses
                .filter((status) => status !== issue.status)
                .map((status) => (
                  <button key={status} type="button" onClick={() => change(status)}>
                    {status === "open" ? "Reopen" : status === "resolved" ? "Resolve" : "Mute"}
                  </button>
                ))}
            </p>
          )}
          {issue.sample !== null && issue.sample !== "" && <pre class="sample">{issue.sample}</pre>}
          <h2>Latest occurrences</h2>
          <ul>
            {issue.occurrences.map((occurrence) => (
              <li key={occurrence.lineId}>
                <Link
                  to={`/devices/${encodeURIComponent(occurrence.deviceId)}?app=${appId}&line=${encodeURIComponent(occurrence.lineId)}`}
                >
                  {formatTime(occurrence.ts)} on device {occurrence.deviceId}
                </Link>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
