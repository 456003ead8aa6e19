// Regional worker tests: Node, real migrated databases (PGlite always, PostgreSQL too when
// TEST_DATABASE_URL is set). The root is the repository, whichever folder vitest starts in.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Files share their worker (none patches globals or the environment): no fresh worker and
    // module graph per file. Measured on 2 cores: node unit projects 129 s -> 103 s.
    isolate: false,
    // Two files at once, as every project of the first group (see the root vitest.config.ts).
    maxWorkers: 2,
    name: "regional",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["regional/**/*.test.ts"],
    // One migrated PGlite pair for the run, copied by every test that opens PGlite.
    globalSetup: ["regional/testing/pglite-template.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
