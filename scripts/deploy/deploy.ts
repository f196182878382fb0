// `npm run deploy -- --env NAME`: applies pending D1 migrations, then deploys the control plane,
// then the gateway (which binds to it), for an environment `npm run setup` made.
// `--dry-run` bundles both exactly as a deploy would and uploads nothing: it works offline, with
// or without `--env`, and CI runs it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUILD_DIR, buildDashboard, ROOT, WORKERS, type WorkerKey } from "../lib/build.ts";
import { readWorkerConfig } from "../lib/wrangler-config.ts";
import { blockStart, isPlaceholderId } from "./plan.ts";
import { must, wranglerCli, type Wrangler } from "./wrangler.ts";

export interface DeployOptions {
  env?: string | undefined;
  dryRun?: boolean;
  root?: string;
  wrangler?: Wrangler;
  log?: (line: string) => void;
}

/** The control plane first: the gateway's service binding and snapshot need it in place. */
const ORDER: WorkerKey[] = ["controlPlane", "gateway"];

export function deploy(o: DeployOptions): void {
  const root = o.root ?? ROOT;
  const wrangler = o.wrangler ?? wranglerCli(root);
  const log = o.log ?? console.log;
  const envArgs = o.env ? ["--env", o.env] : [];
  for (const key of ORDER) {
    const file = join(root, WORKERS[key].config);
    if (o.env && !readFileSync(file, "utf8").includes(blockStart(o.env))) {
      throw new Error(`${WORKERS[key].config} has no [env.${o.env}]: run \`npm run setup -- --env ${o.env}\` first`);
    }
    if (!o.dryRun) {
      if (!o.env) throw new Error("deploy needs --env NAME (the environment `npm run setup` made), or --dry-run");
      const section = readWorkerConfig(file).env?.[o.env];
      const placeholder = [...(section?.d1_databases ?? []).map((d) => d.database_id), ...(section?.kv_namespaces ?? []).map((k) => k.id)].some(isPlaceholderId);
      if (placeholder) throw new Error(`${WORKERS[key].config} [env.${o.env}] still has a placeholder id: run \`npm run setup -- --env ${o.env}\``);
    }
  }
  if (!o.dryRun) {
    for (const key of ORDER) {
      for (const d of readWorkerConfig(join(root, WORKERS[key].config)).d1_databases ?? []) {
        log(`applying D1 migrations to ${d.binding} (${o.env})`);
        must(wrangler, ["d1", "migrations", "apply", d.binding, ...envArgs, "--remote", "-c", WORKERS[key].config], { input: "y\n", inherit: true });
      }
    }
  }
  // The control plane serves the dashboard's bundle, built from its sources first.
  buildDashboard();
  for (const key of ORDER) {
    const dry = o.dryRun ? ["--dry-run", "--outdir", join(BUILD_DIR, "deploy", o.env ?? "default", key)] : [];
    log(`${o.dryRun ? "bundling (dry run)" : "deploying"} ${WORKERS[key].name}${o.env ? ` (${o.env})` : ""}`);
    must(wrangler, ["deploy", "-c", WORKERS[key].config, ...envArgs, ...dry], { inherit: true });
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const i = args.indexOf("--env");
  try {
    deploy({ env: i >= 0 ? args[i + 1] : undefined, dryRun: args.includes("--dry-run") });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
