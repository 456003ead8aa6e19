import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Cross-tier tests that start real processes of their own (regions and wrangler dev), to kill,
// stop or restart them or to configure them their own way: generous timeouts, one file at a time.
// Tests that only use a running system share one: test/one-system/.
export default defineConfig({
  test: {
    name: "e2e",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["test/**/*.test.ts"],
    exclude: ["test/one-system/**"],
    // One migrated PGlite pair for the run: every system's regions start from copies.
    globalSetup: ["regional/testing/pglite-template.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
