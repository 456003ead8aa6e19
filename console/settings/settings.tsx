/**
 * Settings (manage-key sessions only): the app's retention, read with `GET /v1/app` and saved with
 * `PATCH /v1/app`. The shell shows this view only to a manage-key session; a read-key session that
 * opens the URL is told why it sees nothing, and the edge refuses its PATCH in any case.
 */
import { useEffect, useState } from "preact/hooks";
import { type AppSettings, retentionDaysDefault, retentionDaysMax } from "../../shared/lifecycle.ts";
import { ApiFailure, api } from "../api.ts";
import { formatTime } from "../format.ts";
import { Link } from "../shell/link.tsx";
import { ErrorBox, Loading } from "../shell/status.tsx";

export function Settings({ appId, manage }: { appId: string; manage: boolean }) {
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {manage ? (
        <Retention appId={appId} />
      ) : (
        <p class="banner" role="alert">
          Managing this app needs a manage key: this session signed in with a read key. To change retention or erase a
          device, sign in with the app's manage key (“Add an app…” in the app menu).
        </p>
      )}
    </section>
  );
}

function Retention({ appId }: { appId: string }) {
  const [settings, setSettings] = useState<AppSettings | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [days, setDays] = useState(String(retentionDaysDefault));
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api
      .app()
      .then(({ app }) => {
        setSettings(app);
        setDays(String(app.retentionDays));
      })
      .catch((error: ApiFailure) => setFailure(error));
  }, []);

  if (failure) return <ErrorBox error={failure} what="the app's settings" />;
  if (!settings) return <Loading what="the app's settings" />;
  return (
    <form
      class="settings"
      onSubmit={async (event) => {
        event.preventDefault();
        setSaving(true);
        setSaveError(null);
        setSaved(false);
        try {
          const { app } = await api.updateApp({ retentionDays: Number(days) });
          setSettings(app);
          setDays(String(app.retentionDays));
          setSaved(true);
        } catch (error) {
          // The edge's own words: a bad value, a read key, no region reachable.
          setSaveError(error instanceof ApiFailure ? error.message : String(error));
        } finally {
          setSaving(false);
        }
      }}
    >
      <h2>Retention</h2>
      <label for="retention-days">Keep batches for (days)</label>
      <div class="actions">
        <input
          id="retention-days"
          type="number"
          min={1}
          max={retentionDaysMax}
          step={1}
          required
          value={days}
          aria-describedby="retention-help"
          onInput={(event) => {
            setDays(event.currentTarget.value);
            setSaved(false);
          }}
        />
        <button type="submit" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
      </div>
      <p id="retention-help" class="muted">
        From 1 to {retentionDaysMax} days ({retentionDaysDefault} unless changed). Batches older than this stop being
        readable at once, and every region removes them within a day. See what the app keeps per day on the{" "}
        <Link to={`/usage?app=${appId}`}>Usage</Link> page.
      </p>
      {saveError && (
        <p class="error" role="alert">
          {saveError}
        </p>
      )}
      {/* Present before it says anything, so a screen reader announces "Saved" when it appears. */}
      <p class="ok" role="status">
        {saved ? `Saved: batches are kept for ${settings.retentionDays} days.` : ""}
      </p>
      <p class="muted">
        {settings.updatedAt ? `Last changed ${formatTime(settings.updatedAt)}.` : "Never changed: the default applies."}
      </p>
    </form>
  );
}
