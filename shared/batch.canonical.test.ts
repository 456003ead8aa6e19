/**
 * Pins the canonical bytes of a batch (`batchJson`): batch ids derived from content, a duplicate's
 * conflict check and signatures all depend on them, so a faster normalization must give exactly
 * the bytes the first one gave. Fixed inputs are pinned as text; generated ones are compared with
 * the original normalization (copy, delete undefined keys, sort every object's keys), kept here as
 * the oracle.
 */
import { describe, expect, it } from "vitest";
import { batchJson, checkLine, parseBatch, parseUpload } from "./batch.ts";

const everything = {
  logs: [
    {
      attrs: {
        z: 1,
        "10": "ten",
        "9": "nine",
        a: { y: [{ b: 2, a: 1 }, 3, "x"], x: null },
        é: "é",
        B: true,
        "": "",
      },
      text: 'héllo 😀 "q" \n',
      line: 42,
      file: "main.ts",
      method: "run",
      tag: "net",
      level: "warn",
      ts: "2026-06-01T10:00:00.123+01:00",
    },
    { text: "plain", level: "info", ts: 1780315200000 },
    { ts: 1780315200001, level: "error", text: "", attrs: {} },
  ],
  device: {
    locale: "fr-FR",
    appBuild: "7",
    appVersion: "1.2.3",
    osVersion: "17.1",
    os: "iOS",
    model: "iPhone15,2",
    name: "Ada's phone",
    id: "dev-1",
  },
  batchId: "01J0000000000000000000000",
};

const everythingJson =
  '{"batchId":"01J0000000000000000000000","device":{"id":"dev-1","name":"Ada\'s phone","model":"iPhone15,2","os":"iOS","osVersion":"17.1","appVersion":"1.2.3","appBuild":"7","locale":"fr-FR"},' +
  '"logs":[{"ts":1780304400123,"level":"warn","tag":"net","method":"run","file":"main.ts","line":42,"text":"héllo 😀 \\"q\\" \\n",' +
  '"attrs":{"9":"nine","10":"ten","":"","B":true,"a":{"x":null,"y":[{"a":1,"b":2},3,"x"]},"z":1,"é":"é"}},' +
  '{"ts":1780315200000,"level":"info","text":"plain"},{"ts":1780315200001,"level":"error","text":"","attrs":{}}]}';

describe("canonical batch bytes", () => {
  it("are pinned for an upload using every field, keys in any order", () => {
    expect(batchJson(parseUpload(structuredClone(everything)))).toBe(everythingJson);
  });

  it("are the same when a region parses the edge's batch again", () => {
    expect(batchJson(parseBatch(JSON.parse(everythingJson)))).toBe(everythingJson);
  });

  it("are pinned for the smallest upload", () => {
    const minimal = {
      batchId: "batch-0001",
      device: { id: "d1" },
      logs: [{ ts: 1780315200000, level: "info", text: "x" }],
    };
    expect(batchJson(parseUpload(minimal))).toBe(
      '{"batchId":"batch-0001","device":{"id":"d1"},"logs":[{"ts":1780315200000,"level":"info","text":"x"}]}',
    );
  });

  it("are pinned for a line an adapter checks alone", () => {
    const line = {
      attrs: { b: { d: 1, c: [{ f: 1, e: 2 }] }, a: 0 },
      text: "t",
      level: "debug",
      ts: "2026-01-01T00:00:00Z",
      file: "f",
    };
    const checked = checkLine(line, "line 0");
    expect(checked.ok && JSON.stringify(checked.value)).toBe(
      '{"ts":1767225600000,"level":"debug","file":"f","text":"t","attrs":{"a":0,"b":{"c":[{"e":2,"f":1}],"d":1}}}',
    );
  });

  it("match the original normalization over generated uploads", () => {
    const random = seeded(14);
    for (let round = 0; round < 300; round++) {
      const upload = generatedUpload(random);
      const expected = originalBatchJson(upload);
      expect(batchJson(parseUpload(structuredClone(upload)))).toBe(expected);
      expect(batchJson(parseBatch(JSON.parse(expected)))).toBe(expected);
    }
  });
});

/** What normalization did before it was made cheaper: copy, delete what is undefined, sort keys. */
function originalBatchJson(upload: Record<string, unknown>): string {
  const pickDefined = (object: Record<string, unknown>) => {
    for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
    return object;
  };
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  };
  const device = upload.device as Record<string, unknown>;
  const fields = ["id", "name", "model", "os", "osVersion", "appVersion", "appBuild", "locale"];
  return JSON.stringify({
    batchId: upload.batchId,
    device: pickDefined(Object.fromEntries(fields.map((field) => [field, device[field]]))),
    logs: (upload.logs as Record<string, unknown>[]).map((line) =>
      pickDefined({
        ts: line.ts,
        level: line.level,
        tag: line.tag,
        method: line.method,
        file: line.file,
        line: line.line,
        text: line.text,
        attrs: line.attrs === undefined ? undefined : sortKeys(line.attrs),
      }),
    ),
  });
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function generatedUpload(random: () => number): Record<string, unknown> {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const text = () => pick(["", "a", "é", "😀", 'say "hi"\n', "x".repeat(40), "line\u2028sep", "Zz", "0", "10"]);
  const key = () => pick(["a", "b", "B", "é", "", "0", "9", "10", "2", "aa", "a b", "z", "-1", "01", "4294967295"]);
  const value = (depth: number): unknown => {
    const kind = Math.floor(random() * (depth > 2 ? 4 : 6));
    if (kind === 0) return text();
    if (kind === 1) return Math.round(random() * 1e6) / 100;
    if (kind === 2) return pick([true, false, null]);
    if (kind === 3) return Math.floor(random() * 10);
    if (kind === 4) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number) => {
    const entries: Record<string, unknown> = {};
    for (let count = Math.floor(random() * 5); count > 0; count--) entries[key()] = value(depth);
    return entries;
  };
  const optional = <T>(make: () => T): T | undefined => (random() < 0.5 ? make() : undefined);
  const shuffled = (entries: [string, unknown][]) =>
    Object.fromEntries(entries.filter(([, v]) => v !== undefined).sort(() => random() - 0.5));
  const device = shuffled([
    ["id", `device-${Math.floor(random() * 100)}`],
    ...["name", "model", "os", "osVersion", "appVersion", "appBuild", "locale"].map((field): [string, unknown] => [
      field,
      optional(text),
    ]),
  ]);
  const logs = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, index) =>
    shuffled([
      ["ts", 1780315200000 + index],
      ["level", pick(["trace", "debug", "info", "warn", "error", "fatal"])],
      ["tag", optional(text)],
      ["method", optional(text)],
      ["file", optional(text)],
      ["line", optional(() => Math.floor(random() * 1000))],
      ["text", text()],
      ["attrs", optional(() => object(1))],
    ]),
  );
  return { batchId: `batch-${Math.floor(random() * 1e6)}`, device, logs };
}
