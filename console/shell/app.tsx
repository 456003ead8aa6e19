/**
 * The console's shell: the session (which apps this browser is signed in to), the header with the
 * app switcher, the views' navigation and sign-out, and the view the URL names:
 *
 *   /                 devices/devices.tsx     /logs     all-logs/all-logs.tsx
 *   /devices/<id>     timeline/timeline.tsx   /tail     tail/tail.tsx
 *   /regions          regions/regions.tsx     /usage    usage/usage.tsx
 *   /issues           issues/issues.tsx       /issues/<id>  issues/issues.tsx
 *   /settings         settings/settings.tsx   (manage-key sessions only)
 *
 * The app being read is `?app=` in the URL, so a permalink names its app too. Each app's session
 * says the kind of key it signed in with; only a manage-key session sees Settings and Erase (the
 * edge refuses a read key's changes anyway: hiding them only keeps a read-only view honest).
 */
import { useEffect, useState } from "preact/hooks";
import type { ConsoleSession } from "../../shared/console.ts";
import { AllLogs } from "../all-logs/all-logs.tsx";
import { ApiFailure, api, setApp } from "../api.ts";
import { Devices } from "../devices/devices.tsx";
import { timeZone } from "../format.ts";
import { Issue, Issues } from "../issues/issues.tsx";
import { Regions } from "../regions/regions.tsx";
import { Settings } from "../settings/settings.tsx";
import { SignIn } from "../sign-in/sign-in.tsx";
import { Tail } from "../tail/tail.tsx";
import { Timeline } from "../timeline/timeline.tsx";
import { navigate, useLocation } from "../url.ts";
import { Usage } from "../usage/usage.tsx";
import { Link } from "./link.tsx";
import { ErrorBox, Loading } from "./status.tsx";

const views = [
  { path: "/", label: "Devices" },
  { path: "/logs", label: "All logs" },
  { path: "/tail", label: "Live tail" },
  { path: "/issues", label: "Issues" },
  { path: "/regions", label: "Regions" },
  { path: "/usage", label: "Usage" },
  { path: "/settings", label: "Settings", manage: true },
] as const;

export function App() {
  const { path, params } = useLocation();
  const [session, setSession] = useState<ConsoleSession | null>(null);
  const [failure, setFailure] = useState<ApiFailure | null>(null);
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    api
      .session()
      .then(setSession)
      .catch((error) => setFailure(error instanceof ApiFailure ? error : new ApiFailure(0, "NETWORK", String(error))));
  }, []);
  useKeyboard();

  if (failure) return <ErrorBox error={failure} what="the console session" />;
  if (!session) return <Loading what="the console" />;
  const signedIn = (next: ConsoleSession) => {
    setSession(next);
    setAdding(false);
    const first = next.apps[0];
    if (first) navigate(`/?app=${first.id}`);
  };
  const expired = params.get("signIn") === "expired" ? "That sign-in link was used already or has expired." : undefined;
  if (session.apps.length === 0 || adding) return <SignIn onSignedIn={signedIn} notice={expired} />;

  const current = session.apps.find((app) => app.id === params.get("app")) ?? session.apps[0];
  const appId = current?.id as string;
  const manage = current?.keyKind === "manage";
  setApp(appId);
  const deviceId = path.startsWith("/devices/") ? decodeURIComponent(path.slice("/devices/".length)) : null;
  const issueId = path.startsWith("/issues/") ? decodeURIComponent(path.slice("/issues/".length)) : null;

  return (
    <div class="shell">
      <header>
        <strong class="brand">Stormlog</strong>
        <nav aria-label="Views">
          {views
            .filter((view) => manage || !("manage" in view))
            .map((view) => (
              <Link
                key={view.path}
                to={`${view.path}?app=${appId}`}
                current={
                  view.path === "/"
                    ? path === "/" || deviceId !== null
                    : path === view.path || (view.path === "/issues" && issueId !== null)
                }
              >
                {view.label}
              </Link>
            ))}
        </nav>
        <span class="muted" title="Times are shown in this time zone">
          {timeZone}
        </span>
        <select
          aria-label="App"
          value={appId}
          onChange={(event) => {
            const value = event.currentTarget.value;
            if (value === "+") setAdding(true);
            else navigate(`/?app=${value}`);
          }}
        >
          {session.apps.map((app) => (
            <option key={app.id} value={app.id}>
              app {app.id} ({app.keyKind} key)
            </option>
          ))}
          <option value="+">Add an app…</option>
        </select>
        <button
          type="button"
          onClick={async () => {
            await api.signOut(appId);
            const left = await api.session();
            setSession(left);
            navigate(left.apps[0] ? `/?app=${left.apps[0].id}` : "/");
          }}
        >
          Sign out
        </button>
      </header>
      <main key={appId}>
        {deviceId !== null ? (
          <Timeline appId={appId} deviceId={deviceId} manage={manage} />
        ) : issueId !== null ? (
          <Issue appId={appId} issueId={issueId} manage={manage} />
        ) : path === "/issues" ? (
          <Issues appId={appId} />
        ) : path === "/logs" ? (
          <AllLogs />
        ) : path === "/tail" ? (
          <Tail />
        ) : path === "/regions" ? (
          <Regions />
        ) : path === "/usage" ? (
          <Usage appId={appId} manage={manage} />
        ) : path === "/settings" ? (
          <Settings appId={appId} manage={manage} />
        ) : (
          <Devices appId={appId} />
        )}
      </main>
    </div>
  );
}

/** `/` focuses the view's search box; `Esc` leaves it (rows handle j/k and Esc themselves). */
function useKeyboard(): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const typing = target?.tagName === "INPUT" || target?.tagName === "TEXTAREA" || target?.tagName === "SELECT";
      if (event.key === "/" && !typing) {
        const search = document.querySelector<HTMLInputElement>("[data-search]");
        if (search) {
          event.preventDefault();
          search.focus();
        }
      } else if (event.key === "Escape" && typing) {
        target?.blur();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
