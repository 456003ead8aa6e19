// One run for every tier: edge tests in workerd, regional tests in Node, cross-tier tests last.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Request log lines are noise when a test passes and evidence when it fails.
    silent: "passed-only",
    // Two files at once (vitest's default on two cores is one): most files wait on a database or
    // on processes they started as much as they compute. Measured on 2 cores: 1,092 s -> 848 s.
    maxWorkers: 2,
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
