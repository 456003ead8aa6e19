// npm start's own parts (supervisor, configuration) in Node; the real entry point is tested in test/.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Files share their worker (none patches globals or the environment): no fresh worker and
    // module graph per file. Measured on 2 cores: node unit projects 129 s -> 103 s.
    isolate: false,
    // Two files at once, as every project of the first group (see the root vitest.config.ts).
    maxWorkers: 2,
    name: "scripts",
    include: ["scripts/**/*.test.ts"],
    root: fileURLToPath(new URL("..", import.meta.url)),
  },
});
