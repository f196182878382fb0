// Bundles both workers exactly as `wrangler deploy` would (esbuild, `.wasm` imports precompiled),
// without uploading, so the local stack, tests and benchmarks run the production bundles.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BUILD_DIR = join(ROOT, ".verge/build");

export const WORKERS = {
  controlPlane: { name: "verge-control-plane", config: "wrangler.toml" },
  gateway: { name: "verge-gateway", config: "gateway/wrangler.toml" },
} as const;

export type WorkerKey = keyof typeof WORKERS;

export function buildWorkers(): void {
  for (const [key, w] of Object.entries(WORKERS)) buildWorker(key, w.config);
}

export function buildWorker(key: string, config: string): void {
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", join(BUILD_DIR, key), "-c", config], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
}

/** The bundle's modules as miniflare wants them: the entry first, then each `.wasm`. */
export function bundleModules(key: WorkerKey | string, entry = "index.js") {
  const dir = join(BUILD_DIR, key);
  if (!existsSync(join(dir, entry))) throw new Error(`${dir} has no bundle: run buildWorkers() first`);
  const wasm = readdirSync(dir).filter((f) => f.endsWith(".wasm"));
  return {
    modulesRoot: dir,
    modules: [
      { type: "ESModule" as const, path: join(dir, entry) },
      ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) })),
    ],
  };
}
