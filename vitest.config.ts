// One run for every tier: edge tests in workerd, regional tests in Node, cross-tier tests last.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Request log lines are noise when a test passes and evidence when it fails.
    silent: "passed-only",
    // Each project sets its own number of workers; vitest reads none from here, and its default on
    // two cores is one. The unit and regional projects run two files at once (most wait on a
    // database, or on servers they started, as much as they compute), the cross-tier ones (test/)
    // one at a time, after them, since each runs a whole system.
    projects: [
      "shared/vitest.config.ts",
      "edge/vitest.config.ts",
      "regional/vitest.config.ts",
      "sdk/vitest.config.ts",
      "scripts/vitest.config.ts",
      "test/vitest.config.ts",
      "test/one-system/vitest.config.ts",
      "deploy/vitest.config.ts",
    ],
  },
});
