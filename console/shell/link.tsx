/**
 * An in-app link: a plain `<a href>` (so it can be opened in a new tab, copied or read by a
 * screen reader) that navigates without a page load on a plain click.
 */
import type { ComponentChildren } from "preact";
import { navigate } from "../url.ts";

export function Link({ to, current, children }: { to: string; current?: boolean; children: ComponentChildren }) {
  return (
    <a
      href={to}
      aria-current={current ? "page" : undefined}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
