/**
 * Method, file and line of the code that logged, read from a stack trace: V8 (Node, Chrome,
 * Edge) `at method (file:line:col)`, and Firefox/Safari `method@file:line:col`. Best effort: a
 * frame it cannot read gives nothing rather than a wrong answer.
 */
export type CallSite = { method?: string; file?: string; line?: number };

const v8Frame = /^\s*at (?:(.+?) \()?(.+?):(\d+):\d+\)?$/;
const geckoFrame = /^(.*?)@(.+?):(\d+):\d+$/;

/** The frame `depth` calls above the caller of this function. */
export function callSite(depth: number): CallSite {
  const lines = (new Error().stack ?? "").split("\n").filter((line) => /:\d+:\d+\)?$/.test(line));
  const frame = lines[depth];
  if (!frame) return {};
  const match = v8Frame.exec(frame) ?? geckoFrame.exec(frame);
  if (!match) return {};
  const [, method, file, line] = match;
  return {
    ...(method ? { method } : {}),
    ...(file ? { file: file.replace(/^file:\/\//, "") } : {}),
    line: Number(line),
  };
}
