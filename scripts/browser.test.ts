// The browser the tests drive when the machine has no Chromium of its own: @sparticuz/chromium's
// binary, unpacked whole even when several test processes ask for it at the same moment.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { bundledChromium } from "./browser.ts";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("the bundled Chromium", () => {
  it("is unpacked once into its own folder, whole, when two callers race for it", { timeout: 60_000 }, async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), "stormlog-chromium-test-"));
    dirs.push(cacheDir);
    const [first, second] = await Promise.all([bundledChromium(cacheDir), bundledChromium(cacheDir)]);
    expect(first).toBe(second);
    expect(path.dirname(path.dirname(first))).toBe(cacheDir);
    // Nothing half-unpacked is left beside it, and the binary runs.
    expect(await readdir(cacheDir)).toEqual([path.basename(path.dirname(first))]);
    const { stdout } = await promisify(execFile)(first, ["--version"]);
    expect(stdout).toMatch(/^Chromium \d+\./);
    // A later caller reuses it.
    expect(await bundledChromium(cacheDir)).toBe(first);
  });
});
