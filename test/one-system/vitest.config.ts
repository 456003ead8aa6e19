// Cross-tier tests that share one running system: three regions and `wrangler dev`, started once by
// global-setup.ts for every file here. A file that kills, stops or restarts a process, or needs the
// system configured its own way, does not belong here: it starts its own (test/*.e2e.test.ts).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e-one-system",
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/one-system/**/*.test.ts"],
    globalSetup: ["regional/testing/pglite-template.ts", "test/one-system/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // One file at a time, as in test/vitest.config.ts: the machine runs the whole system already.
    fileParallelism: false,
  },
});
