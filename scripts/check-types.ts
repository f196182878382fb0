// Fails when `wrangler types` would write something other than the committed Env types.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./lib/build.ts";

const targets = [
  ["wrangler.toml", "control-plane/worker-configuration.d.ts"],
  ["gateway/wrangler.toml", "gateway/worker-configuration.d.ts"],
] as const;

let stale = false;
for (const [config, out] of targets) {
  try {
    execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["types", "-c", config, out, "--check"], {
      cwd: ROOT,
      stdio: "pipe",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    console.log(`${out}: up to date`);
  } catch (err) {
    stale = true;
    console.error(`${out} is stale: run \`npm run types\` and commit the result.\n${String((err as { stdout?: Buffer }).stdout ?? "")}`);
  }
}
process.exit(stale ? 1 : 0);
