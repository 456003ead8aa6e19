/**
 * The "Logging" panel on a device's page (remote logging control, shared/device-settings.ts): the
 * settings the device obeys and where they come from (its own, its app version's, the app's, or
 * the built-in default). A manage-key session can set the device's own: logging on or off and the
 * lowest level it uploads, saved with `PUT /v1/devices/:id/settings`. Devices pick a change up at
 * their next settings poll (the SDK's `settingsIntervalMs`, 5 minutes by default).
 */
import { useEffect, useState } from "preact/hooks";
import { levels } from "../../shared/batch.ts";
import type { EffectiveSettings } from "../../shared/device-settings.ts";
import { ApiFailure, api } from "../api.ts";

const sourceName = {
  device: "this device's own settings",
  version: "its app version's settings",
  app: "the app's default",
  default: "the built-in default",
} as const;

export function LoggingPanel({
  deviceId,
  appVersion,
  manage,
}: {
  deviceId: string;
  appVersion: string | null;
  manage: boolean;
}) {
  const [effective, setEffective] = useState<EffectiveSettings | null>(null);
  const [enabled, setEnabled] = useState(true);
  const [minLevel, setMinLevel] = useState<EffectiveSettings["minLevel"]>("trace");
  const [status, setStatus] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    api
      .deviceSettings(deviceId, appVersion)
      .then((answer) => {
        setEffective(answer);
        setEnabled(answer.enabled);
        setMinLevel(answer.minLevel);
      })
      .catch((error: unknown) => setStatus(error instanceof ApiFailure ? error.message : String(error)));
  }, [deviceId, appVersion]);

  return (
    <section aria-labelledby="logging-title" class="logging">
      <h2 id="logging-title">Logging</h2>
      {effective && (
        <p>
          {effective.enabled ? `Uploading from ${effective.minLevel}` : "Not uploading (lines wait on the device)"}, by{" "}
          {sourceName[effective.source]}.
        </p>
      )}
      {manage && (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            setSaving(true);
            setStatus(null);
            try {
              setEffective(await api.setDeviceSettings(deviceId, { enabled, minLevel }));
              setStatus("Saved: the device follows at its next settings check.");
            } catch (error) {
              setStatus(error instanceof ApiFailure ? error.message : String(error));
            } finally {
              setSaving(false);
            }
          }}
        >
          <label>
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} /> Logging
            enabled
          </label>
          <label>
            Minimum level{" "}
            <select
              value={minLevel}
              onChange={(e) => setMinLevel(e.currentTarget.value as EffectiveSettings["minLevel"])}
            >
              {levels.map((level) => (
                <option key={level} value={level}>
                  {level}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={saving}>
            Save
          </button>
        </form>
      )}
      {status && <p role="status">{status}</p>}
    </section>
  );
}
