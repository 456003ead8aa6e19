// Regional worker tests: Node, real migrated databases (PGlite always, PostgreSQL too when
// TEST_DATABASE_URL is set). The root is the repository, whichever folder vitest starts in.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // One worker runs every file (none patches globals or the environment): no fresh worker and
    // module graph per file. Measured on 2 cores: node unit projects 129 s -> 103 s.
    isolate: false,
    name: "regional",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["regional/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
