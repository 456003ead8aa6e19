// npm start's own parts (supervisor, configuration) in Node; the real entry point is tested in test/.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { name: "scripts", include: ["scripts/**/*.test.ts"], root: fileURLToPath(new URL("..", import.meta.url)) },
});
