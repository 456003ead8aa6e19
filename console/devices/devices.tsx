/**
 * Devices: the app's devices, most recently seen first, searchable by id, name, model, OS and app
 * version (`?q=` in the URL), with their line counts per level, paged by cursor. An app with no
 * devices yet shows how to send its first log instead. After an erasure (devices/erase.tsx) it
 * says which device was erased (`?erased=`).
 */
import { useEffect, useState } from "preact/hooks";
import { levels } from "../../shared/batch.ts";
import type { DeviceSummary } from "../../shared/read.ts";
import { type ApiFailure, api } from "../api.ts";
import { formatTime } from "../format.ts";
import { Link } from "../shell/link.tsx";
import { ErrorBox, Loading } from "../shell/status.tsx";
import { setParams, useLocation } from "../url.ts";
import { FirstLog } from "./first-log.tsx";

export function Devices({ appId }: { appId: string }) {
  const { params } = useLocation();
  const q = params.get("q") ?? "";
  const erased = params.get("erased");
  const [devices, setDevices] = useState<DeviceSummary[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  useEffect(() => {
    setDevices(null);
    setFailure(null);
    api
      .devices({ q: q || undefined, limit: 50 })
      .then((page) => {
        setDevices(page.devices);
        setNext(page.nextCursor);
      })
      .catch((error: ApiFailure) => setFailure(error));
  }, [q]);

  return (
    <section aria-labelledby="devices-title">
      <h1 id="devices-title">Devices</h1>
      {erased && (
        <p class="ok" role="status">
          Device {erased} was erased in every region.
        </p>
      )}
      <input
        type="search"
        data-search
        aria-label="Search devices by id, name, model, OS or app version"
        placeholder="Search devices (press /)"
        value={q}
        onChange={(event) => setParams({ q: event.currentTarget.value }, { replace: true })}
      />
      {failure && <ErrorBox error={failure} what="the devices" />}
      {!failure && devices === null && <Loading what="devices" />}
      {devices?.length === 0 && (q ? <p>No device matches “{q}”.</p> : <FirstLog appId={appId} />)}
      {devices && devices.length > 0 && (
        <table class="devices">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Model / OS</th>
              <th scope="col">App version</th>
              <th scope="col">Last seen</th>
              <th scope="col">Lines per level</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((device) => (
              <tr key={device.id}>
                <td>
                  <Link to={`/devices/${encodeURIComponent(device.id)}?app=${appId}`}>{device.name ?? device.id}</Link>
                  {device.name && <div class="muted">{device.id}</div>}
                </td>
                <td>
                  {device.model ?? "—"} · {device.os ?? "?"} {device.osVersion ?? ""}
                </td>
                <td>{device.appVersion ?? "—"}</td>
                <td>{formatTime(device.lastSeen)}</td>
                <td class="counts">
                  {levels
                    .filter((level) => device.counts[level] > 0)
                    .map((level) => (
                      <span key={level} class={`level level-${level}`} title={`${device.counts[level]} ${level}`}>
                        {level} {device.counts[level]}
                      </span>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button
          type="button"
          disabled={loadingMore}
          onClick={async () => {
            setLoadingMore(true);
            try {
              const page = await api.devices({ q: q || undefined, cursor: next, limit: 50 });
              setDevices((current) => [...(current ?? []), ...page.devices]);
              setNext(page.nextCursor);
            } catch (error) {
              setFailure(error as ApiFailure);
            } finally {
              setLoadingMore(false);
            }
          }}
        >
          {loadingMore ? "Loading…" : "More devices"}
        </button>
      )}
    </section>
  );
}
