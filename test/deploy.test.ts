// The setup and deploy commands on copies of the two wrangler.toml files. Cloudflare's API cannot
// be reached here, so wrangler's account commands are answered by test/fixtures/fake-wrangler.mjs
// (the one fake, at the process boundary); bundling (`deploy --dry-run`) runs the real wrangler on
// the generated environment, offline. What is expected is derived from the wrangler.toml files, so
// a binding added there is covered without changing this test.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, WORKERS, type WorkerKey } from "../scripts/lib/build.ts";
import { readWorkerConfig, resources } from "../scripts/lib/wrangler-config.ts";
import { deploy } from "../scripts/deploy/deploy.ts";
import { blockStart, envName, kvTitle } from "../scripts/deploy/plan.ts";
import { setup } from "../scripts/deploy/setup.ts";
import { wranglerCli } from "../scripts/deploy/wrangler.ts";
import { unstable_readConfig } from "wrangler";

let root: string;
const calls = () => readFileSync(join(root, "calls.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { args: string[]; stdin: string });
const account = () => JSON.parse(readFileSync(join(root, "account.json"), "utf8")) as { d1: { uuid: string; name: string }[]; kv: { id: string; title: string }[]; r2: string[]; queues: string[]; secrets: Record<string, Record<string, string>> };
const config = (key: WorkerKey) => readWorkerConfig(join(root, WORKERS[key].config));
const quiet = () => undefined;

beforeAll(() => {
  // A checkout whose wrangler.toml files are copies (setup writes them) and whose sources are links.
  root = mkdtempSync(join(tmpdir(), "verge-deploy-"));
  mkdirSync(join(root, "gateway"));
  for (const f of ["wrangler.toml", "gateway/wrangler.toml", "package.json"]) copyFileSync(join(ROOT, f), join(root, f));
  for (const f of ["control-plane", "shared", "migrations", "node_modules", "types", "gateway/src", "gateway/package.json"]) symlinkSync(join(ROOT, f), join(root, f));
  process.env.VERGE_WRANGLER = join(ROOT, "test/fixtures/fake-wrangler.mjs");
  process.env.REAL_WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
  process.env.FAKE_WRANGLER_LOG = join(root, "calls.ndjson");
  process.env.FAKE_WRANGLER_STATE = join(root, "account.json");
});
afterAll(() => {
  delete process.env.VERGE_WRANGLER;
  rmSync(root, { recursive: true, force: true });
});

describe("npm run setup", () => {
  it("creates every resource the wrangler.toml files name, once, and writes their ids where wrangler reads them", async () => {
    const { generatedSecrets } = await setup({ env: "staging", root, originUrl: "https://origin.example.com", wrangler: wranglerCli(root), log: quiet });
    const made = account();
    const all = (Object.keys(WORKERS) as WorkerKey[]).flatMap((k) => resources(config(k)).map((r) => ({ ...r, worker: config(k).name })));
    expect(made.d1.map((d) => d.name).sort()).toEqual([...new Set(all.filter((r) => r.kind === "d1").map((r) => envName((r as { name: string }).name, "staging")))].sort());
    expect(made.kv.map((k) => k.title).sort()).toEqual(all.filter((r) => r.kind === "kv").map((r) => kvTitle(r.worker, (r as { binding: string }).binding, "staging")).sort());
    expect(made.r2.sort()).toEqual([...new Set(all.filter((r) => r.kind === "r2").map((r) => envName((r as { name: string }).name, "staging")))].sort());
    // Producers, consumers and dead-letter queues alike.
    expect(made.queues.sort()).toEqual([...new Set(all.filter((r) => r.kind === "queue").map((r) => envName((r as { name: string }).name, "staging")))].sort());

    // The ids are in [env.staging] of each file, and every binding points at this environment.
    const cp = config("controlPlane").env!.staging!;
    const gw = config("gateway").env!.staging!;
    for (const d of cp.d1_databases ?? []) expect(d.database_id).toBe(made.d1.find((x) => x.name === d.database_name)!.uuid);
    for (const k of gw.kv_namespaces ?? []) expect(k.id).toBe(made.kv.find((x) => x.title === kvTitle(config("gateway").name, k.binding, "staging"))!.id);
    expect(gw.services).toEqual([{ binding: "CONTROL_PLANE", service: "verge-control-plane-staging" }]);
    expect(gw.vars).toMatchObject({ ...config("gateway").vars, ORIGIN_URL: "https://origin.example.com" });
    expect(cp.vars).toEqual(config("controlPlane").vars);
    for (const q of [...(cp.queues?.consumers ?? []), ...(gw.queues?.producers ?? [])]) expect(q.queue).toMatch(/-staging$/);
    for (const q of cp.queues?.consumers ?? []) if (q.dead_letter_queue) expect(q.dead_letter_queue).toMatch(/-staging$/);
    expect(cp.durable_objects?.bindings ?? []).toEqual(config("controlPlane").durable_objects?.bindings ?? []);

    // Migrations applied remotely; every required secret set, the gateway token shared by both.
    const log = calls();
    for (const d of config("controlPlane").d1_databases ?? []) expect(log).toContainEqual(expect.objectContaining({ args: ["d1", "migrations", "apply", d.binding, "--env", "staging", "--remote", "-c", "wrangler.toml"] }));
    const secrets = made.secrets;
    expect(Object.keys(secrets["wrangler.toml:staging"] ?? {}).sort()).toEqual([...(config("controlPlane").secrets?.required ?? [])].sort());
    expect(Object.keys(secrets["gateway/wrangler.toml:staging"] ?? {}).sort()).toEqual([...(config("gateway").secrets?.required ?? [])].sort());
    expect(secrets["gateway/wrangler.toml:staging"]!.GATEWAY_TOKEN).toBe(secrets["wrangler.toml:staging"]!.GATEWAY_TOKEN);
    expect(generatedSecrets.ADMIN_TOKEN).toMatch(/^vadm_/);
  });

  it("makes the monitoring store's resources: the log lake bucket, the dead-letter queues, and the rollup shards' SQLite class as wrangler deploys the environment", () => {
    const made = account();
    expect(made.r2).toContain("verge-logs-staging");
    expect(made.queues).toEqual(expect.arrayContaining(["verge-prediction-logs-dlq-staging", "verge-feedback-dlq-staging"]));
    // What wrangler itself makes of [env.staging]: bindings are not inherited into an environment,
    // Durable Object migrations are.
    const cp = unstable_readConfig({ config: join(root, "wrangler.toml"), env: "staging" }, { hideWarnings: true });
    const gw = unstable_readConfig({ config: join(root, "gateway/wrangler.toml"), env: "staging" }, { hideWarnings: true });
    expect(cp.durable_objects.bindings).toContainEqual(expect.objectContaining({ name: "ROLLUP_SHARDS", class_name: "RollupShard" }));
    expect(cp.migrations).toContainEqual(expect.objectContaining({ new_sqlite_classes: ["RollupShard"] }));
    // The gateway's global rate limiter, the same way.
    expect(gw.durable_objects.bindings).toContainEqual(expect.objectContaining({ name: "RATE_LIMITER", class_name: "RateLimiter" }));
    expect(gw.migrations).toContainEqual(expect.objectContaining({ new_sqlite_classes: ["RateLimiter"] }));
    for (const c of [cp, gw]) expect(c.r2_buckets).toContainEqual(expect.objectContaining({ binding: "LOGS", bucket_name: "verge-logs-staging" }));
    expect(cp.queues.consumers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ queue: "verge-prediction-logs-staging", dead_letter_queue: "verge-prediction-logs-dlq-staging" }),
        expect.objectContaining({ queue: "verge-feedback-staging", dead_letter_queue: "verge-feedback-dlq-staging" }),
        expect.objectContaining({ queue: "verge-prediction-logs-dlq-staging" }),
        expect.objectContaining({ queue: "verge-feedback-dlq-staging" }),
      ]),
    );
    expect(cp.queues.producers).toEqual(expect.arrayContaining([expect.objectContaining({ binding: "PREDICTION_LOGS", queue: "verge-prediction-logs-staging" }), expect.objectContaining({ binding: "FEEDBACK", queue: "verge-feedback-staging" })]));
  });

  it("run again, creates nothing twice, keeps the ids and replaces its block rather than adding one", async () => {
    const before = account();
    const ids = config("controlPlane").env!.staging!.d1_databases!.map((d) => d.database_id);
    const logged = calls().length;
    await setup({ env: "staging", root, wrangler: wranglerCli(root), log: quiet });
    expect(config("gateway").env!.staging!.vars).toMatchObject({ ORIGIN_URL: "https://origin.example.com" });
    expect(account().d1).toEqual(before.d1);
    expect(account().kv).toEqual(before.kv);
    expect(config("controlPlane").env!.staging!.d1_databases!.map((d) => d.database_id)).toEqual(ids);
    const again = calls().slice(logged);
    expect(again.filter((c) => c.args[1] === "create" || c.args[2] === "create").filter((c) => c.args[0] === "d1" || c.args[0] === "kv")).toEqual([]);
    expect(again.filter((c) => c.args[0] === "secret" && c.args[1] === "bulk")).toEqual([]);
    for (const file of ["wrangler.toml", "gateway/wrangler.toml"]) expect(readFileSync(join(root, file), "utf8").split(blockStart("staging")).length).toBe(2);
  });
});

describe("npm run deploy", () => {
  it("--dry-run bundles both workers of the generated environment with the real wrangler, offline", () => {
    const logged = calls().length;
    deploy({ env: "staging", dryRun: true, root, wrangler: wranglerCli(root), log: quiet });
    expect(calls().slice(logged).map((c) => c.args.slice(0, 5))).toEqual([
      ["deploy", "-c", "wrangler.toml", "--env", "staging"],
      ["deploy", "-c", "gateway/wrangler.toml", "--env", "staging"],
    ]);
    expect(existsSync(join(ROOT, ".verge/build/deploy/staging/gateway/index.js"))).toBe(true);
  });

  it("applies migrations, then deploys the control plane, then the gateway", () => {
    const logged = calls().length;
    deploy({ env: "staging", root, wrangler: wranglerCli(root), log: quiet });
    expect(calls().slice(logged).map((c) => c.args.join(" "))).toEqual([
      ...(config("controlPlane").d1_databases ?? []).map((d) => `d1 migrations apply ${d.binding} --env staging --remote -c wrangler.toml`),
      "deploy -c wrangler.toml --env staging",
      "deploy -c gateway/wrangler.toml --env staging",
    ]);
  });

  it("refuses an environment that setup never made, and a real deploy without one", () => {
    expect(() => deploy({ env: "production", root, wrangler: wranglerCli(root), log: quiet })).toThrow(/run `npm run setup -- --env production` first/);
    expect(() => deploy({ root, wrangler: wranglerCli(root), log: quiet })).toThrow(/deploy needs --env NAME/);
  });
});
