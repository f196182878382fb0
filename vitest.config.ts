// Tests run in Node; worker code runs inside workerd through miniflare, from the real bundles.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Worker modules imported into Node for their route tables only (see test/workers-shim.ts).
  resolve: { alias: { "cloudflare:workers": fileURLToPath(new URL("./test/workers-shim.ts", import.meta.url)) } },
  plugins: [
    {
      // Worker code imports the dashboard's assets as text modules (wrangler's default rule for
      // `.txt` and `.html`); tests that import the worker in Node get the same strings.
      name: "text-modules",
      enforce: "pre",
      load(id) {
        if (/\.(txt|html)$/.test(id)) return `export default ${JSON.stringify(readFileSync(id, "utf8"))};`;
        return undefined;
      },
    },
  ],
  test: {
    include: ["shared/test/**/*.test.ts", "client/test/**/*.test.ts", "cli/test/**/*.test.ts", "gateway/test/**/*.test.ts", "control-plane/test/**/*.test.ts", "trainer/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each workerd takes a core; two cores here, so files run one or two at a time.
    maxWorkers: 2,
  },
});
