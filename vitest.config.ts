// Tests run in Node; worker code runs inside workerd through miniflare, from the real bundles.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["shared/test/**/*.test.ts", "client/test/**/*.test.ts", "cli/test/**/*.test.ts", "gateway/test/**/*.test.ts", "control-plane/test/**/*.test.ts", "trainer/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each workerd takes a core; two cores here, so files run one or two at a time.
    maxWorkers: 2,
  },
});
