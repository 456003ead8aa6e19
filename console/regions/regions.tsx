/**
 * Regions as the edge sees them (`GET /v1/regions`): each one's state, backlog, last contact and
 * latency, which region served this page, and whether every region holds the same batches of this
 * app (their digests agree).
 */
import { useEffect, useState } from "preact/hooks";
import type { RegionsAnswer } from "../../shared/console-api.ts";
import { type ApiFailure, api } from "../api.ts";
import { formatTime } from "../format.ts";
import { ErrorBox, Loading } from "../shell/status.tsx";

export function Regions() {
  const [answer, setAnswer] = useState<RegionsAnswer | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  useEffect(() => {
    const load = () =>
      api
        .regions()
        .then((next) => {
          setAnswer(next);
          setFailure(null);
        })
        .catch((error: ApiFailure) => setFailure(error));
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section aria-labelledby="regions-title">
      <h1 id="regions-title">Regions</h1>
      {failure && <ErrorBox error={failure} what="the regions" />}
      {!failure && !answer && <Loading what="the regions" />}
      {answer && (
        <>
          <p class={answer.digestsAgree ? "ok" : "banner"} role="status">
            {answer.digestsAgree
              ? "Every region holds the same batches of this app."
              : "The regions do not hold the same batches yet (replication is catching up, or a region is down)."}{" "}
            Served by <strong>{answer.servedBy ?? "no region"}</strong>; checked {formatTime(answer.checkedAt)}.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Region</th>
                <th scope="col">State</th>
                <th scope="col">Backlog</th>
                <th scope="col">Last contact</th>
                <th scope="col">Latency</th>
                <th scope="col">Batches</th>
              </tr>
            </thead>
            <tbody>
              {answer.regions.map((region) => (
                <tr key={region.name}>
                  <th scope="row">
                    {region.name}
                    {region.name === answer.servedBy ? " (served this page)" : ""}
                  </th>
                  <td>
                    <span class={`state state-${region.status}`}>{region.status}</span>
                  </td>
                  <td>{region.backlog ?? "—"}</td>
                  <td>{region.lastContactAt ? formatTime(region.lastContactAt) : "—"}</td>
                  <td>{region.latencyMs === null ? "—" : `${Math.round(region.latencyMs)} ms`}</td>
                  <td>{region.batches ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
