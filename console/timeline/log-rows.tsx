/**
 * Log lines as virtualized rows (virtual.ts), shared by the timeline, all logs and the live tail.
 * Scrolling near either end loads more (`onNearStart` / `onNearEnd`); `j`/`k` move the selection,
 * Enter or a click opens a line (its attrs as a JSON tree, its source, its batch), Esc closes it.
 * Each line has a permalink (the device timeline opened at it) and copy buttons.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { type LogRecord, lineId } from "../../shared/read.ts";
import { formatTime } from "../format.ts";
import { CopyButton } from "../shell/status.tsx";
import { JsonTree } from "./json-tree.tsx";
import { useVirtualizer } from "./virtual.ts";

export function permalink(line: LogRecord): string {
  const params = new URLSearchParams(location.search);
  const app = params.get("app");
  return `${location.origin}/devices/${encodeURIComponent(line.deviceId)}?${app ? `app=${app}&` : ""}line=${encodeURIComponent(lineId(line))}`;
}

export function LogRows(props: {
  lines: LogRecord[];
  label: string;
  /** A line id to scroll to and select once it is loaded (a permalink's line). */
  anchor?: string | null;
  onNearStart?: () => Promise<number>;
  onNearEnd?: () => void;
  /** Keep the newest line in view as lines arrive (the live tail). */
  follow?: boolean;
  showDevice?: boolean;
}) {
  const { lines } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [selected, setSelected] = useState<number>(-1);
  const [open, setOpen] = useState<string | null>(null);
  const anchored = useRef(false);
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 30,
    getItemKey: (index) => {
      const line = lines[index];
      return line ? lineId(line) : String(index);
    },
  });
  const items = virtualizer.getVirtualItems();

  useEffect(() => {
    if (props.anchor && !anchored.current) {
      const index = lines.findIndex((line) => lineId(line) === props.anchor);
      if (index >= 0) {
        anchored.current = true;
        setSelected(index);
        setOpen(props.anchor);
        virtualizer.scrollToIndex(index, { align: "center" });
      }
    }
  }, [lines, props.anchor]);

  useEffect(() => {
    if (props.follow && lines.length > 0) virtualizer.scrollToIndex(lines.length - 1, { align: "end" });
  }, [lines.length, props.follow]);

  // Near an end, load more; lines put on top keep the reader's place.
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    if (lines.length === 0) return;
    if (last >= lines.length - 5) props.onNearEnd?.();
    if (first <= 2 && props.onNearStart && (!props.anchor || anchored.current)) {
      const offset = virtualizer.scrollOffset ?? 0;
      void props.onNearStart().then((added) => {
        if (added > 0) virtualizer.scrollToOffset(offset + added * 30);
      });
    }
  }, [first, last, lines.length]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT"))
        return;
      if (event.key === "j" || event.key === "k") {
        const next = Math.max(0, Math.min(lines.length - 1, selected + (event.key === "j" ? 1 : -1)));
        setSelected(next);
        virtualizer.scrollToIndex(next, { align: "auto" });
      } else if (event.key === "Enter" && lines[selected]) {
        const id = lineId(lines[selected] as LogRecord);
        setOpen((current) => (current === id ? null : id));
      } else if (event.key === "Escape") {
        setOpen(null);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [lines, selected]);

  return (
    <div ref={scroller} class="rows">
      <ul aria-label={props.label} style={{ height: `${virtualizer.getTotalSize()}px`, position: "relative" }}>
        {items.map((item) => {
          const line = lines[item.index] as LogRecord;
          const id = lineId(line);
          const isOpen = open === id;
          return (
            <li
              key={item.key}
              data-index={item.index}
              ref={(element) => {
                if (element) virtualizer.measureElement(element);
              }}
              aria-current={item.index === selected ? "true" : undefined}
              class={`row${item.index === selected ? " selected" : ""}`}
              style={{ transform: `translateY(${item.start}px)` }}
            >
              <button
                type="button"
                class="line"
                aria-expanded={isOpen}
                onClick={() => {
                  setSelected(item.index);
                  setOpen(isOpen ? null : id);
                }}
              >
                <time dateTime={line.ts}>{formatTime(line.ts)}</time>
                <span class={`level level-${line.level}`}>{line.level}</span>
                {props.showDevice && <span class="device">{line.deviceId}</span>}
                {line.tag && <span class="tag">{line.tag}</span>}
                <span class="text">{line.text}</span>
              </button>
              {isOpen && (
                <div class="details">
                  <div class="actions">
                    <CopyButton text={line.text} label="Copy text" />
                    <CopyButton text={permalink(line)} label="Copy permalink" />
                    <a href={permalink(line)}>Permalink</a>
                  </div>
                  <dl>
                    <dt>Device</dt>
                    <dd>{line.deviceId}</dd>
                    <dt>Batch</dt>
                    <dd>
                      <code>{id}</code>
                    </dd>
                    {line.method && (
                      <>
                        <dt>Source</dt>
                        <dd>
                          {line.method} {line.file ?? ""}
                          {line.line !== undefined ? `:${line.line}` : ""}
                        </dd>
                      </>
                    )}
                  </dl>
                  {line.attrs && <JsonTree value={line.attrs} name="attrs" />}
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
