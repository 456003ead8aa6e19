import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Cross-tier tests start real processes (regions and wrangler dev): generous timeouts, one file at a time.
export default defineConfig({
  test: {
    name: "e2e",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
