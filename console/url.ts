/**
 * Where the console is and what it shows live in the URL (path = view, search = filters), so a
 * reload, a back button or a shared link shows the same thing. `useLocation` re-renders on any
 * change; `navigate` and `setParams` are the only ways to change it.
 */
import { useEffect, useState } from "preact/hooks";

const changed = "stormlog:navigate";

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new Event(changed));
}

/** Sets (or with "" / undefined removes) search parameters, keeping the path. */
export function setParams(patch: Record<string, string | undefined>, options: { replace?: boolean } = {}): void {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || value === "") params.delete(key);
    else params.set(key, value);
  }
  const search = params.toString();
  navigate(`${location.pathname}${search ? `?${search}` : ""}`, options);
}

export function useLocation(): { path: string; params: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((tick) => tick + 1);
    window.addEventListener("popstate", update);
    window.addEventListener(changed, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(changed, update);
    };
  }, []);
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

/** The line filters in the URL, as the API takes them. */
export function filtersOf(params: URLSearchParams) {
  const get = (key: string) => params.get(key) ?? undefined;
  return { level: get("level"), levels: get("levels"), tag: get("tag"), q: get("q"), from: get("from"), to: get("to") };
}
