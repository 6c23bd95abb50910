// One ES module for Home Assistant's frontend (loaded via add_extra_js_url), Lit bundled in.
import { defineConfig } from "vitest/config";

export default defineConfig({
  build: {
    lib: {
      entry: "src/hems-plan-card.ts",
      formats: ["es"],
      fileName: () => "hems-plan-card.js",
    },
    outDir: "../custom_components/hems/frontend",
    emptyOutDir: true,
    target: "es2021",
    minify: "esbuild",
    sourcemap: false,
    reportCompressedSize: false,
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
