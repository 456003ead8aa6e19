// The SDK's Node tests: the real client and file journal against real local HTTP servers.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Files share their worker (none patches globals or the environment): no fresh worker and
    // module graph per file. Measured on 2 cores: node unit projects 129 s -> 103 s.
    isolate: false,
    // Two files at once, as every project of the first group (see the root vitest.config.ts).
    maxWorkers: 2,
    name: "sdk",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["sdk/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
