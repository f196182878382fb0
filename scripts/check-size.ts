// Checks the gateway bundle (onnxruntime-web's wasm included) against the script-size budget.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { BUILD_DIR, buildWorkers } from "./lib/build.ts";

/** Cloudflare enforces 10 MiB compressed; keep a margin for growth. */
const BUDGET_GZIP_BYTES = 8 * 1024 * 1024;

buildWorkers();
for (const worker of ["gateway", "controlPlane"]) {
  const dir = join(BUILD_DIR, worker);
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(dir).filter((f) => /\.(js|wasm)$/.test(f))) {
    const bytes = readFileSync(join(dir, f));
    raw += statSync(join(dir, f)).size;
    gz += gzipSync(bytes).byteLength;
  }
  const mib = (n: number) => (n / 1024 / 1024).toFixed(2);
  console.log(`${worker}: ${mib(raw)} MiB raw, ${mib(gz)} MiB gzipped (budget ${mib(BUDGET_GZIP_BYTES)} MiB gzipped)`);
  if (gz > BUDGET_GZIP_BYTES) {
    console.error(`${worker} bundle is over budget`);
    process.exit(1);
  }
}
