// `npm run build`: bundles both workers as `wrangler deploy` would, into .verge/build (skipped
// for a worker whose sources have not changed; `--force` rebuilds).
import { BUILD_DIR, WORKERS, buildWorker } from "./lib/build.ts";

const force = process.argv.includes("--force");
for (const [key, w] of Object.entries(WORKERS)) {
  const built = buildWorker(key, w.config, { force });
  console.log(`${w.name}: ${built ? "built" : "unchanged"} → ${BUILD_DIR}/${key}`);
}
