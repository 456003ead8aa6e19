// Deployment tests: the container image's start command, the rendered Kubernetes manifests, the
// edge's wrangler environments and the Terraform files. Node only; no Docker, cluster or account.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Files share their worker (none patches globals or the environment): no fresh worker and
    // module graph per file. Measured on 2 cores: node unit projects 129 s -> 103 s.
    isolate: false,
    // Two files at once, as every project of the first group (see the root vitest.config.ts).
    maxWorkers: 2,
    name: "deploy",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["deploy/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
