/**
 * Sign-in with an app's read or manage key: the key goes once to the edge (POST
 * /v1/console/session), which keeps it and sets the session cookie; the page never stores it. A
 * manage key's session also shows the app's settings and erasure. An ingest key is refused by the
 * edge with a message that says which keys work, shown here as is.
 */
import { useState } from "preact/hooks";
import type { ConsoleSession } from "../../shared/console.ts";
import { ApiFailure, api } from "../api.ts";

export function SignIn({ onSignedIn, notice }: { onSignedIn: (session: ConsoleSession) => void; notice?: string }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main class="sign-in">
      <h1>Stormlog console</h1>
      {notice && (
        <p class="banner" role="alert">
          {notice}
        </p>
      )}
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const session = await api.signIn(key.trim());
            setKey("");
            onSignedIn(session);
          } catch (failure) {
            setError(failure instanceof ApiFailure ? failure.message : String(failure));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="app-key">App read or manage key</label>
        <input
          id="app-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          placeholder="sl_read_… or sl_manage_…"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          required
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="muted">
        A read key reads the app's logs; a manage key also changes its retention and erases devices. The ingest key your
        apps send logs with cannot sign in.
      </p>
      <p class="muted">
        The key is kept by the edge for 12 hours; this browser holds only a signed session cookie. Add more apps later
        from the app menu.
      </p>
    </main>
  );
}
