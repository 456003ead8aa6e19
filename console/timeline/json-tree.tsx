/** A line's `attrs` as a tree: objects and arrays fold open and shut, leaves show their JSON. */
import type { ComponentChildren } from "preact";

export function JsonTree({ value, name }: { value: unknown; name?: string }): ComponentChildren {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value);
    const brackets = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
    return (
      <details open class="json">
        <summary>
          {name !== undefined && <span class="json-key">{name}: </span>}
          {brackets[0]}
          {entries.length} {Array.isArray(value) ? "items" : "keys"}
          {brackets[1]}
        </summary>
        <ul>
          {entries.map(([key, item]) => (
            <li key={key}>
              <JsonTree value={item} name={key} />
            </li>
          ))}
        </ul>
      </details>
    );
  }
  return (
    <span class="json-leaf">
      {name !== undefined && <span class="json-key">{name}: </span>}
      <span class={`json-${value === null ? "null" : typeof value}`}>{JSON.stringify(value)}</span>
    </span>
  );
}
