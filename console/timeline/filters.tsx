/**
 * The line filters, kept in the URL: text search, minimum level, a set of levels, tag, and a time
 * range. Every view of lines (timeline, all logs, live tail) shows the same bar.
 */
import { levels } from "../../shared/batch.ts";
import { setParams, useLocation } from "../url.ts";

/** `datetime-local` values are local time; the URL carries ISO (UTC) times. */
function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function fromLocalInput(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

export function Filters({ timeRange = true }: { timeRange?: boolean }) {
  const { params } = useLocation();
  const chosen = new Set((params.get("levels") ?? "").split(",").filter(Boolean));
  // Changing a filter starts the view afresh, so a permalink's line no longer applies.
  const set = (patch: Record<string, string | undefined>) =>
    setParams({ ...patch, line: undefined }, { replace: true });
  return (
    <form class="filters" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
      <input
        type="search"
        data-search
        aria-label="Search text"
        placeholder="Search text (press /)"
        value={params.get("q") ?? ""}
        onChange={(event) => set({ q: event.currentTarget.value })}
        onKeyDown={(event) => {
          if (event.key === "Enter") set({ q: event.currentTarget.value });
        }}
      />
      <label>
        Min level{" "}
        <select value={params.get("level") ?? ""} onChange={(event) => set({ level: event.currentTarget.value })}>
          <option value="">any</option>
          {levels.map((level) => (
            <option key={level} value={level}>
              {level}
            </option>
          ))}
        </select>
      </label>
      <fieldset class="level-set">
        <legend>Levels</legend>
        {levels.map((level) => (
          <label key={level}>
            <input
              type="checkbox"
              checked={chosen.has(level)}
              onChange={(event) => {
                const next = new Set(chosen);
                if (event.currentTarget.checked) next.add(level);
                else next.delete(level);
                set({ levels: levels.filter((name) => next.has(name)).join(",") });
              }}
            />
            {level}
          </label>
        ))}
      </fieldset>
      <input
        aria-label="Tag"
        placeholder="Tag"
        value={params.get("tag") ?? ""}
        onChange={(event) => set({ tag: event.currentTarget.value })}
      />
      {timeRange && (
        <>
          <label>
            From{" "}
            <input
              type="datetime-local"
              value={toLocalInput(params.get("from"))}
              onChange={(event) => set({ from: fromLocalInput(event.currentTarget.value) })}
            />
          </label>
          <label>
            To{" "}
            <input
              type="datetime-local"
              value={toLocalInput(params.get("to"))}
              onChange={(event) => set({ to: fromLocalInput(event.currentTarget.value) })}
            />
          </label>
        </>
      )}
    </form>
  );
}
