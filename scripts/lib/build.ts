// Bundles both workers exactly as `wrangler deploy` would (esbuild, `.wasm` imports precompiled),
// without uploading, so the local stack, tests and benchmarks run the production bundles. A bundle
// whose inputs have not changed since it was built is reused (a build costs seconds).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as esbuild from "esbuild";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BUILD_DIR = join(ROOT, ".verge/build");

export const WORKERS = {
  controlPlane: { name: "verge-control-plane", config: "wrangler.toml" },
  gateway: { name: "verge-gateway", config: "gateway/wrangler.toml" },
} as const;

export type WorkerKey = keyof typeof WORKERS;

/** Builds each worker whose inputs changed (the dashboard with the control plane); returns the ones it built. */
export function buildWorkers(): string[] {
  const built: string[] = [];
  for (const [key, w] of Object.entries(WORKERS)) if (buildWorker(key, w.config)) built.push(key);
  return built;
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

/** What a bundle is made of: sources of every part a worker imports (the dashboard's too), its config, the lockfile. */
const INPUTS = ["gateway/src", "control-plane/src", "control-plane/ui/src", "control-plane/ui/index.html", "shared/src", "client/src", "gateway/package.json", "control-plane/package.json", "shared/package.json", "client/package.json", "package-lock.json"];

function inputsDigest(config: string): string {
  const hash = createHash("sha256");
  const files: string[] = [];
  const walk = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry));
    else files.push(path);
  };
  // The folder of the config's entry point too (a benchmark worker lives outside the parts).
  const main = /^main\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, config), "utf8"))?.[1];
  const entryDir = main ? relative(ROOT, dirname(join(ROOT, dirname(config), main))) : undefined;
  for (const input of new Set([config, ...INPUTS, ...(entryDir ? [entryDir] : [])])) walk(join(ROOT, input));
  for (const file of files) hash.update(relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  return hash.digest("hex");
}

/** Bundles one worker unless its last bundle was made from the same inputs; true when it built. */
export function buildWorker(key: string, config: string, options: { force?: boolean } = {}): boolean {
  const stamp = join(BUILD_DIR, key, ".inputs-sha256");
  const digest = inputsDigest(config);
  if (!options.force && existsSync(stamp) && readFileSync(stamp, "utf8") === digest && (key !== "controlPlane" || existsSync(DASHBOARD_DIST))) return false;
  if (key === "controlPlane") buildDashboard();
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", join(BUILD_DIR, key), "-c", config], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  writeFileSync(stamp, digest);
  return true;
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
