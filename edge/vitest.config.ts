// The edge's tests run inside workerd (@cloudflare/vitest-plugin) against the real Worker config;
// the regions they forward to are real HTTP servers started in Node by testing/global-setup.ts, and
// what reaches the spool's dead-letter queue is read back through testing/dead-letter-inbox.js.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import {
  testConsoleSecret,
  testEdgeSecret,
  testKeySecret,
  testRateLimit,
  testSpoolSecret,
} from "./testing/fixtures.ts";

// wrangler.toml serves the console from console/dist, and the plugin refuses a config whose assets
// folder is missing: an unbuilt console (a fresh clone) must not stop the edge tests.
mkdirSync(fileURLToPath(new URL("../console/dist", import.meta.url)), { recursive: true });

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const stubs = inject("stubs");
      return {
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            // Both in one place, so the configured order decides between them.
            REGIONS: JSON.stringify([
              { name: "eu-west", url: stubs.eu, location: { lat: 53.35, lon: -6.26 } },
              { name: "us-east", url: stubs.us, location: { lat: 53.35, lon: -6.26 } },
            ]),
            KEY_SECRET: testKeySecret,
            EDGE_SECRET: testEdgeSecret,
            SPOOL_SECRET: testSpoolSecret,
            CONSOLE_SECRET: testConsoleSecret,
          },
          // Low limits for the rate-limit tests, apart from the Worker's own (wrangler.toml).
          ratelimits: {
            TEST_UPLOAD_RATE_LIMIT: { namespace_id: "9001", simple: { limit: testRateLimit, period: 60 } },
            TEST_READ_RATE_LIMIT: { namespace_id: "9002", simple: { limit: testRateLimit, period: 60 } },
          },
          serviceBindings: { DEAD_LETTERS: "dead-letter-inbox" },
          workers: [
            {
              name: "dead-letter-inbox",
              modules: true,
              scriptPath: fileURLToPath(new URL("./testing/dead-letter-inbox.js", import.meta.url)),
              compatibilityDate: "2026-11-01",
              queueConsumers: { "stormlog-spool-dead": { maxBatchTimeout: 0 } },
            },
          ],
        },
      };
    }),
  ],
  test: {
    name: "edge",
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["edge/**/*.test.ts"],
    globalSetup: ["edge/testing/global-setup.ts"],
    testTimeout: 15_000,
    // Two files at once, as every project of the first group (see the root vitest.config.ts).
    maxWorkers: 2,
    // Every request logs a line; show them only for tests that fail.
    silent: "passed-only",
  },
});
