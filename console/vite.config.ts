// The console's build (`npm run console:build` → console/dist, served by the edge as static assets)
// and its dev server (`npm run console:dev`): hot reload, with the API and the sign-in link proxied
// to the local edge so the page and the API share an origin, as they do when the edge serves both.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const edge = process.env.STORMLOG_CONSOLE_EDGE ?? "http://127.0.0.1:8787";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Preact's automatic JSX runtime, without the Babel-based preset.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  resolve: { alias: { react: "preact/compat", "react-dom": "preact/compat" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  server: {
    proxy: {
      "/v1": { target: edge, changeOrigin: false },
      "/console/sign-in": { target: edge, changeOrigin: false },
    },
  },
});
