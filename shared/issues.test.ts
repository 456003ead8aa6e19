// The issue convention: which lines are occurrences, and what the signature covers (what varies
// between two occurrences of one problem is normalized away; the type, title and frame are not).
import { describe, expect, it } from "vitest";
import type { LogLine } from "./batch.ts";
import { normalize, occurrenceOf } from "./issues.ts";

const line = (fields: Partial<LogLine>): LogLine => ({ ts: 1, level: "info", text: "", ...fields });

describe("the issue convention", () => {
  it("finds crashes by a stack in a fatal line, and issues, crashes and feedback by tag", () => {
    const v8 = "TypeError: x\n    at f (https://a.example/app.js:10:4)";
    expect(occurrenceOf(line({ level: "fatal", text: v8 }))).toMatchObject({ type: "crash", title: "TypeError: x" });
    expect(occurrenceOf(line({ level: "fatal", text: "Error: y\nf@https://a.example/app.js:3:9" }))?.type).toBe(
      "crash",
    );
    expect(occurrenceOf(line({ level: "fatal", text: "no stack here" }))).toBeNull();
    expect(occurrenceOf(line({ level: "error", text: v8 }))).toBeNull();
    expect(occurrenceOf(line({ tag: "stormlog.issue", text: "T", attrs: { "stormlog.body": "B" } }))).toMatchObject({
      type: "issue",
      title: "T",
      body: "B",
    });
    expect(occurrenceOf(line({ tag: "stormlog.feedback", text: "S" }))).toMatchObject({ type: "feedback", body: "" });
    expect(occurrenceOf(line({ tag: "stormlog.crash", text: "Boom", attrs: { "stormlog.body": v8 } }))?.type).toBe(
      "crash",
    );
  });

  it("signs the same problem alike across addresses, ids and positions, and different ones apart", () => {
    const crash = (address: string, position: string, name = "f") =>
      occurrenceOf(line({ level: "fatal", text: `Error: bad ${address}\n    at ${name} (app.js:${position})` }))
        ?.signatureText;
    expect(crash("0x7ffd12", "10:4")).toBe(crash("0xdeadbeef", "99:1"));
    expect(crash("id 3f2a9c1e-0b1d-4c2e-9f00-123456789abc", "1:1")).toBe(
      crash("id 00000000-0000-4000-8000-000000000000", "2:2"),
    );
    expect(crash("0x1", "1:1", "g")).not.toBe(crash("0x1", "1:1", "f"));
    expect(normalize("at f (app.js:12:7) id 0x1f3a 42")).toBe("at f (app.js) id # #");
  });
});
