// Regional worker tests: Node, real migrated databases (PGlite always, PostgreSQL too when
// TEST_DATABASE_URL is set). The root is the repository, whichever folder vitest starts in.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "regional",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["regional/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
