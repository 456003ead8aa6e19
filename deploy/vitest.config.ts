// Deployment tests: the container image's start command, the rendered Kubernetes manifests, the
// edge's wrangler environments and the Terraform files. Node only; no Docker, cluster or account.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "deploy",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["deploy/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
