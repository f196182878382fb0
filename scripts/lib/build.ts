// Bundles both workers exactly as `wrangler deploy` would (esbuild, `.wasm` imports precompiled),
// without uploading, so the local stack, tests and benchmarks run the production bundles.
import { execFileSync } from "node:child_process";
import * as esbuild from "esbuild";
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
  buildDashboard();
  for (const [key, w] of Object.entries(WORKERS)) buildWorker(key, w.config);
}

/** Where the dashboard's bundle goes; the control-plane worker imports it as text modules. */
export const DASHBOARD_DIST = join(ROOT, "control-plane/ui/dist");

/**
 * Bundles the dashboard (its TypeScript, the typed client, uPlot and their CSS) into one script
 * and one stylesheet, so the worker serves it with no CDN. Named `.txt` so that wrangler
 * imports them as text modules.
 */
export function buildDashboard(): void {
  esbuild.buildSync({
    entryPoints: { app: join(ROOT, "control-plane/ui/src/main.ts") },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir: DASHBOARD_DIST,
    outExtension: { ".js": ".js.txt", ".css": ".css.txt" },
    loader: { ".css": "css" },
    logLevel: "warning",
  });
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
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" });
  const wasm = files.filter((f) => f.endsWith(".wasm"));
  // Text modules (the dashboard's assets), as wrangler's default rules import `.txt` and `.html`.
  const text = files.filter((f) => f.endsWith(".txt") || f.endsWith(".html"));
  return {
    modulesRoot: dir,
    modules: [
      { type: "ESModule" as const, path: join(dir, entry) },
      ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) })),
      ...text.map((f) => ({ type: "Text" as const, path: join(dir, f) })),
    ],
  };
}
