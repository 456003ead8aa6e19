/** The small pieces every view shows: loading, errors, the integrity banner, copy buttons. */
import { useState } from "preact/hooks";
import type { IntegrityError } from "../../shared/read.ts";
import type { ApiFailure } from "../api.ts";
import { copyText } from "../format.ts";

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, what }: { error: ApiFailure; what: string }) {
  const text = error.missing
    ? `This edge does not serve ${what} yet (an older deployment).`
    : error.status === 503
      ? `No region could answer for ${what} right now: ${error.message}. Retrying helps once a region is back.`
      : `Could not load ${what}: ${error.message}`;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** Batches a region could not read back: named by id, never shown as garbage. */
export function IntegrityBanner({ errors }: { errors: IntegrityError[] }) {
  if (errors.length === 0) return null;
  return (
    <div class="banner" role="alert">
      <strong>Integrity errors:</strong> {errors.length} stored batch{errors.length === 1 ? "" : "es"} could not be read
      back and {errors.length === 1 ? "is" : "are"} left out:{" "}
      {errors.map((error) => (
        <code key={error.batchId} title={error.message}>
          {error.batchId}{" "}
        </code>
      ))}
    </div>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="copy"
      onClick={async (event) => {
        event.stopPropagation();
        setDone(await copyText(text));
        setTimeout(() => setDone(false), 1200);
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}
