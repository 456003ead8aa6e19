/**
 * OTLP's AnyValue (a log body, an attribute's value), checked before `plain` (ingest/otlp.ts)
 * turns it into JSON by recursion: every value an object of the known kinds with the right types,
 * every list an array, finite numbers, and at most `limits.anyValueDepthMax` levels (a plain value
 * is level 1; each arrayValue or kvlistValue around it adds one). Walked with a stack, so a value
 * nested thousands deep is a 400 naming it, never a stack overflow.
 */
import { z } from "zod";
import { limits } from "../../shared/limits.ts";
import type { ValueProblem } from "../../shared/storable.ts";

type Path = (string | number)[];

const scalarTypes: Record<string, readonly string[]> = {
  stringValue: ["string"],
  boolValue: ["boolean"],
  intValue: ["string", "number"],
  doubleValue: ["number"],
  bytesValue: ["string"],
};

/** What is wrong with an AnyValue (null or absent is an empty value), or null when nothing is. */
export function anyValueProblem(value: unknown): ValueProblem | null {
  const stack: { value: unknown; depth: number; path: Path }[] = [{ value, depth: 1, path: [] }];
  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    const { depth, path } = at;
    if (at.value === null || at.value === undefined) continue;
    if (typeof at.value !== "object" || Array.isArray(at.value))
      return { path, message: "expected an AnyValue object" };
    if (depth > limits.anyValueDepthMax)
      return { path, message: `nested deeper than ${limits.anyValueDepthMax} levels` };
    const any = at.value as Record<string, unknown>;
    for (const [kind, types] of Object.entries(scalarTypes)) {
      const scalar = any[kind];
      if (scalar === undefined) continue;
      if (!types.includes(typeof scalar)) return { path: [...path, kind], message: `expected ${types.join(" or ")}` };
      if (typeof scalar === "number" && !Number.isFinite(scalar)) {
        return { path: [...path, kind], message: "expected a finite number" };
      }
    }
    for (const kind of ["arrayValue", "kvlistValue"] as const) {
      if (any[kind] === undefined) continue;
      const list = any[kind] as { values?: unknown } | null;
      const values = typeof list === "object" && list !== null ? (list.values ?? []) : null;
      if (!Array.isArray(values)) return { path: [...path, kind], message: "expected {values: [...]}" };
      for (const [index, item] of values.entries()) {
        const itemPath = [...path, kind, "values", index];
        if (kind === "arrayValue") {
          stack.push({ value: item, depth: depth + 1, path: itemPath });
          continue;
        }
        const entry = item as { key?: unknown; value?: unknown } | null;
        if (typeof entry !== "object" || entry === null || typeof entry.key !== "string") {
          return { path: itemPath, message: "expected {key, value}" };
        }
        stack.push({ value: entry.value, depth: depth + 1, path: [...itemPath, "value"] });
      }
    }
  }
  return null;
}

/** An AnyValue in a zod schema: the first problem becomes the issue, at its path. */
export const anyValueSchema = z.unknown().superRefine((value, ctx) => {
  const problem = anyValueProblem(value);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
});
