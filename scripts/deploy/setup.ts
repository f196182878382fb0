// `npm run setup -- --env NAME [--origin-url URL]`: creates what an environment needs in the
// Cloudflare account wrangler is logged in to — D1 databases, R2 buckets, KV namespaces, queues
// and their dead-letter queues, all read from the wrangler.toml files — writes their ids into an
// `[env.NAME]` block of each file (where `wrangler --env NAME` reads them), applies the D1
// migrations and sets missing secrets. Run it again after adding a binding: it only adds.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomToken } from "@verge/shared/crypto";
import { ROOT, WORKERS, type WorkerKey } from "../lib/build.ts";
import { readWorkerConfig, resources, type WorkerConfig } from "../lib/wrangler-config.ts";
import { d1Key, envBlock, envName, kvKey, kvTitle, withEnvBlock, type Ids } from "./plan.ts";
import { jsonOutput, must, wranglerCli, type Wrangler } from "./wrangler.ts";

/** Secrets the setup can generate; any other required secret must come from the environment. */
const GENERATED: Record<string, (shared: Record<string, string>) => string> = {
  ADMIN_TOKEN: () => randomToken("vadm"),
  GATEWAY_TOKEN: (shared) => (shared.GATEWAY_TOKEN ??= randomToken("vgw")),
  ORIGIN_SECRET: (shared) => (shared.ORIGIN_SECRET ??= randomToken("vos")),
};

export interface SetupOptions {
  env: string;
  root?: string;
  /** The GPU origin's public URL, set as the gateway's ORIGIN_URL (none: origin versions are off). */
  originUrl?: string | undefined;
  wrangler?: Wrangler;
  log?: (line: string) => void;
}

export async function setup(o: SetupOptions): Promise<{ ids: Ids; generatedSecrets: Record<string, string> }> {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(o.env)) throw new Error(`--env: "${o.env}" must be lower-case letters, digits and dashes`);
  const root = o.root ?? ROOT;
  const wrangler = o.wrangler ?? wranglerCli(root);
  const log = o.log ?? console.log;
  const configs = Object.fromEntries((Object.keys(WORKERS) as WorkerKey[]).map((k) => [k, readWorkerConfig(join(root, WORKERS[k].config))])) as Record<WorkerKey, WorkerConfig>;
  const ids: Ids = {};

  // What already exists in the account, so a second run creates nothing twice.
  const databases = jsonOutput<{ uuid: string; name: string }[]>(must(wrangler, ["d1", "list", "--json"]));
  const namespaces = jsonOutput<{ id: string; title: string }[]>(must(wrangler, ["kv", "namespace", "list"]));
  const done = new Set<string>();
  for (const [key, c] of Object.entries(configs) as [WorkerKey, WorkerConfig][]) {
    for (const r of resources(c)) {
      if (r.kind === "d1") {
        const name = envName(r.name, o.env);
        const found = databases.find((d) => d.name === name)?.uuid;
        ids[d1Key(name)] = found ?? created(must(wrangler, ["d1", "create", name]), /"?database_id"?\s*[=:]\s*"([0-9a-f-]{36})"/, `D1 database ${name}`);
        log(`${found ? "found" : "created"} D1 database ${name}`);
      } else if (r.kind === "kv") {
        const title = kvTitle(c.name, r.binding, o.env);
        const found = namespaces.find((n) => n.title === title)?.id;
        ids[kvKey(c.name, r.binding)] = found ?? created(must(wrangler, ["kv", "namespace", "create", title]), /"?id"?\s*[=:]\s*"([0-9a-f]{32})"/, `KV namespace ${title}`);
        log(`${found ? "found" : "created"} KV namespace ${title} (${key} ${r.binding})`);
      } else {
        const name = envName(r.name, o.env);
        const what = r.kind === "r2" ? "R2 bucket" : r.role === "dead_letter" ? "dead-letter queue" : "queue";
        if (done.has(`${r.kind}:${name}`)) continue;
        done.add(`${r.kind}:${name}`);
        const res = wrangler(r.kind === "r2" ? ["r2", "bucket", "create", name] : ["queues", "create", name]);
        // Buckets and queues cannot be listed as JSON: creating one that exists answers so, and is fine.
        if (!res.ok && !/already (exists|taken)|\[code: (10004|11009)\]/i.test(res.stderr + res.stdout)) throw new Error(`creating ${what} ${name} failed:\n${res.stderr || res.stdout}`);
        log(`${res.ok ? "created" : "found"} ${what} ${name}`);
      }
    }
  }

  // The ids go where wrangler reads them: an [env.NAME] block in each wrangler.toml.
  for (const [key, c] of Object.entries(configs) as [WorkerKey, WorkerConfig][]) {
    const file = join(root, WORKERS[key].config);
    // The origin's address is per environment: given now, or kept from the last setup.
    const originUrl = o.originUrl ?? (c.env?.[o.env]?.vars?.ORIGIN_URL as string | undefined);
    const extra: Record<string, string> = key === "gateway" && originUrl ? { ORIGIN_URL: originUrl } : {};
    writeFileSync(file, withEnvBlock(readFileSync(file, "utf8"), o.env, envBlock(c, o.env, ids, extra)));
    log(`wrote [env.${o.env}] in ${WORKERS[key].config}`);
  }

  for (const c of Object.values(configs)) {
    for (const d of c.d1_databases ?? []) must(wrangler, ["d1", "migrations", "apply", d.binding, "--env", o.env, "--remote", "-c", configFile(configs, c)], { input: "y\n" });
  }

  // Secrets the workers require and do not have yet: from the environment, else generated once.
  const shared: Record<string, string> = {};
  const generatedSecrets: Record<string, string> = {};
  for (const [key, c] of Object.entries(configs) as [WorkerKey, WorkerConfig][]) {
    const required = c.secrets?.required ?? [];
    if (!required.length) continue;
    const listed = wrangler(["secret", "list", "--format", "json", "--env", o.env, "-c", WORKERS[key].config]);
    const existing = new Set(listed.ok ? jsonOutput<{ name: string }[]>(listed.stdout).map((s) => s.name) : []);
    const missing = required.filter((name) => !existing.has(name));
    if (!missing.length) continue;
    const values: Record<string, string> = {};
    for (const name of missing) {
      const value = process.env[name] ?? GENERATED[name]?.(shared);
      if (!value) throw new Error(`${WORKERS[key].config} requires the secret ${name}: set it in the environment and run setup again`);
      values[name] = value;
      if (!process.env[name]) generatedSecrets[name] = value;
    }
    must(wrangler, ["secret", "bulk", "--env", o.env, "-c", WORKERS[key].config], { input: JSON.stringify(values) });
    log(`set ${missing.join(", ")} on ${c.name}-${o.env}`);
  }
  return { ids, generatedSecrets };
}

const configFile = (configs: Record<WorkerKey, WorkerConfig>, c: WorkerConfig) => WORKERS[(Object.keys(configs) as WorkerKey[]).find((k) => configs[k] === c)!].config;

function created(output: string, pattern: RegExp, what: string): string {
  const id = pattern.exec(output)?.[1];
  if (!id) throw new Error(`created ${what} but found no id in wrangler's output:\n${output}`);
  return id;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const env = flag("env");
  if (!env) {
    console.error("usage: npm run setup -- --env NAME [--origin-url https://origin.example.com]");
    process.exit(2);
  }
  try {
    const { generatedSecrets } = await setup({ env, originUrl: flag("origin-url") });
    if (Object.keys(generatedSecrets).length) {
      console.log("\nGenerated secrets (shown once; ORIGIN_SECRET goes to every trainer as VERGE_ORIGIN_SECRET):");
      for (const [k, v] of Object.entries(generatedSecrets)) console.log(`  ${k}=${v}`);
    }
    console.log(`\nNext: npm run deploy -- --env ${env}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
