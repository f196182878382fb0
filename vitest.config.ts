// Tests run in Node; worker code runs inside workerd through miniflare, from the real bundles.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Worker modules imported into Node for their route tables only (see test/workers-shim.ts).
  resolve: { alias: { "cloudflare:workers": fileURLToPath(new URL("./test/workers-shim.ts", import.meta.url)) } },
  test: {
    include: ["shared/test/**/*.test.ts", "gateway/test/**/*.test.ts", "control-plane/test/**/*.test.ts", "trainer/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each workerd takes a core; two cores here, so files run one or two at a time.
    maxWorkers: 2,
  },
});
