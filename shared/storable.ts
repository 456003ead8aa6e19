/**
 * What storage can hold, checked before anything is stored or walked. PostgreSQL text cannot hold
 * U+0000 (every region would answer 500 for a batch that carries one), and a lone surrogate is not
 * Unicode at all: UTF-8 encoding turns it into U+FFFD, so the stored copy of a batch would no
 * longer equal a retry of it (409 instead of duplicate). Both are refused in every text field.
 *
 * Values of unbounded shape (whole bodies, attrs) are walked with an explicit stack, never by
 * recursion, so a value nested thousands of levels deep is refused instead of overflowing a stack;
 * code that recurses (zod's schemas, key sorting, JSON.stringify) only runs on what passed here.
 */
import { z } from "zod";
import { ApiError } from "./errors.ts";
import { limits } from "./limits.ts";

/** A surrogate without its partner: with the `u` flag a well-formed pair is one code point, not Cs. */
const loneSurrogate = /\p{Cs}/u;

/** Why `text` cannot be stored, or null when it can. */
export function textProblem(text: string): string | null {
  if (text.includes("\u0000")) return "contains U+0000 (NUL), which cannot be stored";
  if (loneSurrogate.test(text)) return "contains a lone surrogate, which is not valid Unicode";
  return null;
}

/**
 * The first `length` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair:
 * cutting a field to size must not make it unstorable.
 * @example truncateText("ab😀", 3) // "ab"
 */
export function truncateText(text: string, length: number): string {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

/** A string schema that refuses NUL and lone surrogates; chain length checks after it. */
export function storableString() {
  return z.string().superRefine((text, ctx) => {
    const problem = textProblem(text);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** Where in a value a problem is, and what it is. */
export type ValueProblem = { path: (string | number)[]; message: string };

type Visit = { value: unknown; depth: number; key: string | number; parent: Visit | null };

function pathOf(visit: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Visit | null = visit; at?.parent; at = at.parent) path.unshift(at.key);
  return path;
}

/**
 * Checks a JSON value as stored inside a batch (attrs): only JSON types, finite numbers, storable
 * keys and strings, and objects and arrays nested at most `depthMax` levels (the value itself is
 * level 1). Returns the first problem found, or null.
 */
export function jsonValueProblem(value: unknown, depthMax: number): ValueProblem | null {
  const stack: Visit[] = [{ value, depth: 1, key: "", parent: null }];
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const problem = (message: string) => ({ path: pathOf(visit as Visit), message });
    const current = visit.value;
    if (typeof current === "string") {
      const text = textProblem(current);
      if (text !== null) return problem(text);
      continue;
    }
    if (typeof current === "number") {
      if (!Number.isFinite(current)) return problem("expected a finite number");
      continue;
    }
    if (current === null || typeof current === "boolean") continue;
    if (typeof current !== "object") return problem("expected a JSON value");
    if (visit.depth > depthMax) return problem(`nested deeper than ${depthMax} levels`);
    if (Array.isArray(current)) {
      current.forEach((child, index) => {
        stack.push({ value: child, depth: (visit as Visit).depth + 1, key: index, parent: visit as Visit });
      });
      continue;
    }
    for (const [key, child] of Object.entries(current)) {
      const keyProblem = textProblem(key);
      if (keyProblem !== null) return { path: [...pathOf(visit), key], message: `key ${keyProblem}` };
      stack.push({ value: child, depth: visit.depth + 1, key, parent: visit });
    }
  }
  return null;
}

/** Is a parsed body nested deeper than `depthMax` objects and arrays? Counted without recursion. */
export function nestedDeeperThan(value: unknown, depthMax: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [current, depth] = entry;
    if (current === null || typeof current !== "object") continue;
    if (depth > depthMax) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Throws the 400 for a request body nested past `limits.bodyDepthMax`; every JSON body passes here first. */
export function checkBodyDepth(body: unknown): void {
  if (nestedDeeperThan(body, limits.bodyDepthMax)) {
    throw new ApiError("INVALID_BODY", `body: nested deeper than ${limits.bodyDepthMax} levels of objects and arrays`);
  }
}
