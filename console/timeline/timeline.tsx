/**
 * One device's timeline: its lines in time order, filtered by the bar above (URL state), scrolling
 * both ways through any amount, opened at `?line=` when it comes from a permalink; beside them the
 * device's info from the devices list and its remote logging settings (devices/logging.tsx). A
 * manage-key session can erase the device from here (devices/erase.tsx) and set its logging.
 */
import { useEffect, useState } from "preact/hooks";
import type { DeviceSummary } from "../../shared/read.ts";
import { api } from "../api.ts";
import { EraseDevice } from "../devices/erase.tsx";
import { LoggingPanel } from "../devices/logging.tsx";
import { formatTime } from "../format.ts";
import { filtersOf, useLocation } from "../url.ts";
import { Filters } from "./filters.tsx";
import { useLines } from "./lines.ts";
import { PagedLines } from "./paged-lines.tsx";

export function Timeline({ appId, deviceId, manage }: { appId: string; deviceId: string; manage: boolean }) {
  const { params } = useLocation();
  const around = params.get("line");
  const filters = { ...filtersOf(params), device: deviceId };
  const view = useLines(filters, around);
  return (
    <section aria-labelledby="timeline-title" class="with-panel">
      <div class="main-column">
        <div class="title-row">
          <h1 id="timeline-title">Device {deviceId}</h1>
          {manage && <EraseDevice appId={appId} deviceId={deviceId} />}
        </div>
        <Filters />
        <PagedLines view={view} label={`Lines of device ${deviceId}`} what="this device's lines" anchor={around} />
      </div>
      <DeviceInfo deviceId={deviceId} manage={manage} />
    </section>
  );
}

function DeviceInfo({ deviceId, manage }: { deviceId: string; manage: boolean }) {
  const [device, setDevice] = useState<DeviceSummary | null | undefined>(undefined);
  useEffect(() => {
    api
      .devices({ q: deviceId, limit: 20 })
      .then((page) => setDevice(page.devices.find((candidate) => candidate.id === deviceId) ?? null))
      .catch(() => setDevice(null));
  }, [deviceId]);
  if (device === undefined) return <aside class="panel" aria-label="Device info" />;
  if (device === null) {
    return (
      <aside class="panel" aria-label="Device info">
        <LoggingPanel deviceId={deviceId} appVersion={null} manage={manage} />
      </aside>
    );
  }
  const rows: [string, string | null][] = [
    ["Name", device.name],
    ["Model", device.model],
    ["OS", [device.os, device.osVersion].filter(Boolean).join(" ") || null],
    ["App", [device.appVersion, device.appBuild && `(${device.appBuild})`].filter(Boolean).join(" ") || null],
    ["Locale", device.locale],
    ["First seen", formatTime(device.firstSeen)],
    ["Last seen", formatTime(device.lastSeen)],
  ];
  return (
    <aside class="panel" aria-label="Device info">
      <h2>Device info</h2>
      <dl>
        {rows.map(([name, value]) => (
          <>
            <dt key={`${name}-t`}>{name}</dt>
            <dd key={`${name}-d`}>{value ?? "—"}</dd>
          </>
        ))}
      </dl>
      <LoggingPanel deviceId={deviceId} appVersion={device.appVersion} manage={manage} />
    </aside>
  );
}
