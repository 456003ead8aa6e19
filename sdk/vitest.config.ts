// The SDK's Node tests: the real client and file journal against real local HTTP servers.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "sdk",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["sdk/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
