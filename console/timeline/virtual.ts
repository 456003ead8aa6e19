/**
 * TanStack Virtual's core for Preact: only the rows in view (and a few around) are in the DOM, so
 * a timeline of any length scrolls as fast as a short one. Rows are measured after they render
 * (an expanded row is taller).
 */
import {
  elementScroll,
  observeElementOffset,
  observeElementRect,
  Virtualizer,
  type VirtualizerOptions,
} from "@tanstack/virtual-core";
import { useLayoutEffect, useMemo, useState } from "preact/hooks";

export function useVirtualizer(options: {
  count: number;
  getScrollElement: () => HTMLElement | null;
  estimateSize: (index: number) => number;
  getItemKey: (index: number) => string;
}): Virtualizer<HTMLElement, Element> {
  const [, rerender] = useState(0);
  const full: VirtualizerOptions<HTMLElement, Element> = {
    ...options,
    overscan: 12,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    onChange: () => rerender((tick) => tick + 1),
  };
  const virtualizer = useMemo(() => new Virtualizer(full), []);
  virtualizer.setOptions(full);
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());
  return virtualizer;
}
