// A training job end to end in the local stack: Parquet files in the offline store → point-in-time
// training set → validation → training → evaluation against production → registration with
// lineage and drift reference → staging; then the gateway serves the staged version, with view
// features materialized into the online store, and answers what the trainer's model computes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainerClient } from "@verge/client";
import { encodeRows, materializeResultSchema, rolloutEvaluationSchema, versionListSchema, type JobView, type VersionView } from "@verge/shared";
import { ROOT, WORKERS } from "../scripts/lib/build.ts";
import { localCloudflareApiUrl } from "../scripts/lib/cloudflare-api.ts";
import { churnJob, writeChurnData } from "../scripts/lib/demo-data.ts";
import { freePort } from "../scripts/lib/redis-server.ts";
import { spawnTrainer, type TrainerProcess } from "../scripts/lib/trainer-process.ts";
import { workerConfig } from "../scripts/lib/wrangler-config.ts";
import { rocAuc } from "../trainer/src/evaluate/metrics.ts";
import { ADMIN_TOKEN, CLIENT_KEY, eventually, testStack, type TestStack } from "./helpers.ts";

const TOKEN = "trainer-token-0123456789abcdef";
const ORIGIN_SECRET = "origin-secret-0123456789abcdef";
const METRICS_TOKEN = "training-metrics-token-0123456789";
const CF_TOKEN = "local-cloudflare-api-token";
let stack: TestStack;
let trainerProcess: TrainerProcess;
let cpUrl: string;
let trainerUrl: string;
let dir: string;
let data: Awaited<ReturnType<typeof writeChurnData>>;

// The trainer runs as its own process, from its environment alone, as on a GPU node: an operator
// token (not the admin's), the alert webhook an admin registered for it, and the gateway's
// FEATURES namespace written through Cloudflare's KV API (the local stand-in for that API).
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-training-"));
  data = await writeChurnData(join(dir, "offline"), { users: 1500, events: 15_000 });
  const [cpPort, gwPort, port, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  trainerUrl = `http://127.0.0.1:${port}`;
  cpUrl = `http://127.0.0.1:${cpPort}`;
  stack = await testStack({ ports: { gateway: gwPort, controlPlane: cpPort }, gatewayBindings: { ORIGIN_URL: trainerUrl, ORIGIN_SECRET }, cloudflareApi: { port: apiPort, token: CF_TOKEN } });
  const operator = await stack.admin.ok("POST", "/v1/tokens", { name: "trainer", role: "operator" });
  const hook = await stack.admin.ok("POST", "/v1/webhooks", { url: `${trainerUrl}/hooks/alerts` });
  trainerProcess = spawnTrainer({
    PATH: process.env.PATH ?? "",
    PORT: String(port),
    VERGE_TRAINER_PUBLIC_URL: trainerUrl,
    VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${cpPort}`,
    VERGE_CONTROL_PLANE_TOKEN: operator.token,
    VERGE_ALERT_WEBHOOK_ID: hook.id,
    VERGE_ALERT_WEBHOOK_SECRET: hook.secret,
    VERGE_ORIGIN_SECRET: ORIGIN_SECRET,
    VERGE_METRICS_TOKEN: METRICS_TOKEN,
    VERGE_TRAINER_TOKEN: TOKEN,
    // Command jobs may run this one program (they are off unless listed).
    VERGE_COMMAND_ALLOWLIST: join(ROOT, "node_modules/.bin/tsx"),
    VERGE_OFFLINE_ROOT: join(dir, "offline"),
    VERGE_TRAINER_STATE: join(dir, "state"),
    VERGE_ONLINE_STORE: "kv",
    CLOUDFLARE_ACCOUNT_ID: "local",
    CLOUDFLARE_API_TOKEN: CF_TOKEN,
    CLOUDFLARE_BASE_URL: localCloudflareApiUrl(apiPort),
    VERGE_KV_NAMESPACE_ID: workerConfig("gateway").kv_namespaces!.find((k) => k.binding === "FEATURES")!.id!,
    VERGE_GATEWAY_URL: `http://127.0.0.1:${gwPort}`,
  });
  await trainerProcess.ready;
  await stack.admin.ok("POST", "/v1/keys", { name: "churn", models: ["*"], key: CLIENT_KEY });
});
afterAll(async () => {
  await trainerProcess?.stop();
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const trainer = () => trainerClient({ baseUrl: trainerUrl, token: TOKEN });
/** Command jobs need the admin role: the control plane's admin token, checked by the trainer against it. */
const trainerAdmin = () => trainerClient({ baseUrl: trainerUrl, token: ADMIN_TOKEN });
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const finished = (id: string): Promise<JobView> =>
  eventually(async () => {
    const job = await trainer().api.getJob({ params: { id } });
    return TERMINAL.has(job.phase) ? job : undefined;
  }, 240_000);
/** The `verge` CLI as a real process. */
const verge = (args: string[]) =>
  new Promise<{ code: number | null; output: string; stdout: string }>((resolve) => {
    const child = spawn(join(ROOT, "node_modules/.bin/verge"), args, { env: { ...process.env, VERGE_URL: cpUrl, VERGE_TOKEN: ADMIN_TOKEN, VERGE_TRAINER_URL: trainerUrl, VERGE_TRAINER_TOKEN: TOKEN, VERGE_CONFIG: join(dir, "verge.json") } });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => ((output += c.toString()), (stdout += c.toString())));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("close", (code) => resolve({ code, output, stdout }));
  });
const versionsOf = async (model: string) => {
  const res = await stack.admin.raw("GET", `/v1/models/${model}/versions`);
  return res.status === 200 ? versionListSchema.parse(res.body).versions : [];
};

describe("a training job in the local stack", () => {
  let v1: VersionView;

  it("trains from the CLI with a live progress bar, registers with lineage and reference, and stages", async () => {
    const file = join(dir, "job.json");
    writeFileSync(file, JSON.stringify(churnJob({ id: "churn-1" })));
    const cli = await verge(["jobs", "submit", file]);
    expect(cli.output).toContain("job churn-1 succeeded: churn version 1 (staged)");
    expect(cli.code).toBe(0);
    expect(cli.output).toMatch(/training\s+\[/); // the bar showed the training phase

    const job = await finished("churn-1");
    expect(job).toMatchObject({ phase: "succeeded", version: 1, staged: true, progress: 1 });
    v1 = (await versionsOf("churn"))[0]!;
    expect(v1!.lineage).toMatchObject({ parent_job: "churn-1", training_data_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), params: { algorithm: "logreg" } });
    expect(Object.keys(v1!.reference!.features).sort()).toEqual(["is_member", "plan", "sessions_7d", "tenure_months"]);
    expect(v1!.reference!.prediction).toBeDefined();
    const aliases = (await stack.admin.ok("GET", "/v1/models/churn/aliases")).aliases;
    expect(aliases).toContainEqual(expect.objectContaining({ alias: "staging", version: 1 }));
    // Quality on the time-based holdout, against the true model's own AUC on the same rows.
    const byTime = [...data.truth].sort((a, b) => a.ts - b.ts);
    const holdout = byTime.slice(byTime.length - job.metrics!.holdout_rows!);
    const trueAuc = rocAuc(holdout.map((e) => e.y), holdout.map((e) => e.p));
    expect(Math.abs(job.metrics!.auc! - trueAuc)).toBeLessThan(0.015);
    expect(job.metrics!.onnx_max_abs_diff).toBeLessThan(1e-5);
  });

  it("the gateway serves the staged version with materialized view features, equal to the trainer's model", async () => {
    // Materialize the latest snapshot of every user into the gateway's online store (KV here).
    const request = join(dir, "materialize.json");
    writeFileSync(request, JSON.stringify({ views: [{ name: "user_activity", path: "churn/user_activity.parquet", entity: "user_id" }] }));
    const res = await verge(["materialize", request, "--json"]);
    expect(res.code, res.output).toBe(0);
    expect(materializeResultSchema.parse(JSON.parse(res.stdout)).views.user_activity!.written).toBe(data.users);
    await stack.admin.ok("PUT", "/v1/models/churn/deployment", { variants: [{ name: "staged", alias: "staging", weight: 10000 }] });
    const model = readFileSync(join(dir, "state/jobs/churn-1/model.onnx"));
    const session = await ort.InferenceSession.create(model);
    for (const u of [3, 77, 1200]) {
      const [tenure, sessions] = data.snapshots[u]!.at(-1)!;
      const served = (await (await stack.predict("churn", { unit: `u${u}`, entities: { user_id: `u${u}` }, features: { plan: "pro", is_member: true } })).json()) as { version: number; outputs: { probability: number }; degraded?: unknown[] };
      expect(served.degraded ?? []).toEqual([]); // both view features came from the online store
      const x = encodeRows(v1.feature_spec, [{ tenure_months: tenure, sessions_7d: sessions, plan: "pro", is_member: true }]);
      const expected = (await session.run({ input: new ort.Tensor("float32", x, [1, x.length]) })).probability!.data[0] as number;
      expect(served.version).toBe(1);
      expect(served.outputs.probability).toBeCloseTo(expected, 5);
    }
  });

  it("a gradient-boosted model trained here runs inside workerd (ai.onnx.ml trees) with the trainer's outputs", async () => {
    const submitted = await trainer().raw("POST", "/v1/jobs", churnJob({ id: "churn-gbdt", algorithm: "gbdt", params: { n_trees: 40 }, stage: false }));
    expect(submitted.status).toBe(202);
    const job = await finished("churn-gbdt");
    expect(job).toMatchObject({ phase: "succeeded", version: 2 });
    expect(job.metrics!.onnx_max_abs_diff).toBeLessThan(1e-5);
    await stack.admin.ok("PUT", "/v1/models/churn/deployment", { variants: [{ name: "trees", version: 2, weight: 10000 }] });
    const session = await ort.InferenceSession.create(readFileSync(join(dir, "state/jobs/churn-gbdt/model.onnx")));
    for (const features of [{ tenure_months: 2, sessions_7d: 1, plan: "free", is_member: false }, { tenure_months: 40, sessions_7d: 9, plan: "team", is_member: true }]) {
      const served = (await (await stack.predict("churn", { unit: "x", features })).json()) as { version: number; outputs: { probability: number } };
      const x = encodeRows(v1.feature_spec, [features]);
      const expected = (await session.run({ input: new ort.Tensor("float32", x, [1, x.length]) })).probability!.data[0] as number;
      expect(served.version).toBe(2);
      expect(served.outputs.probability).toBeCloseTo(expected, 5);
    }
  });

  it("a command job runs an outside program under the contract and is evaluated against production", async () => {
    await stack.admin.ok("PUT", "/v1/models/churn/aliases/production", { version: 1 });
    const argv = [join(ROOT, "node_modules/.bin/tsx"), join(ROOT, "trainer/test/fixtures/train-command.ts"), "{train}", "{params}", "{output}"];
    await trainerAdmin().raw("POST", "/v1/jobs", churnJob({ id: "churn-cmd", algorithm: "command", command: { argv }, params: { epochs: 60 }, stage: false }));
    const job = await finished("churn-cmd");
    expect(job.error).toBeUndefined();
    expect(job).toMatchObject({ phase: "succeeded", version: 3, metrics: { fit_epochs: 60, production_version: 1 } });
    expect(job.metrics!.production_auc).toBeCloseTo((await versionsOf("churn")).find((v) => v.version === 1)!.metrics.auc!, 6);
    const [v3] = await versionsOf("churn");
    expect(v3!.lineage).toMatchObject({ parent_job: "churn-cmd", params: { algorithm: "command", epochs: 60 } });
    // Lineage names the executable and a digest of the argv, not the argv (viewers read lineage).
    expect((v3!.lineage!.params as { command: unknown }).command).toEqual({ executable: argv[0], argv_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(v3!.lineage)).not.toContain("train-command.ts");
  });
});

describe("the trainer serves origin versions to the gateway", () => {
  it("a trained model registered as an `origin` version is answered by the trainer process, signed, with its own outputs", async () => {
    const bytes = readFileSync(join(dir, "state/jobs/churn-1/model.onnx"));
    const v1 = (await versionsOf("churn")).find((v) => v.version === 1)!;
    const { version } = await stack.admin.uploadVersion("churn", bytes, { runtime: "origin", inputs: v1.inputs, outputs: v1.outputs, feature_spec: v1.feature_spec, metrics: {}, lineage: { code_version: "test", parent_job: "churn-1" } });
    await stack.admin.ok("PUT", "/v1/models/churn/deployment", { variants: [{ name: "heavy", version, weight: 10000 }] });
    const session = await ort.InferenceSession.create(bytes);
    const features = { tenure_months: 7, sessions_7d: 2, plan: "team", is_member: false };
    const res = await stack.predict("churn", { unit: "o1", features });
    const served = (await res.json()) as { version: number; outputs: { probability: number }; fallback?: unknown };
    expect(res.status).toBe(200);
    expect(served).toMatchObject({ version });
    expect(served.fallback).toBeUndefined();
    const x = encodeRows(v1.feature_spec, [features]);
    const expected = (await session.run({ input: new ort.Tensor("float32", x, [1, x.length]) })).probability!.data[0] as number;
    expect(served.outputs.probability).toBeCloseTo(expected, 5);
    // The trainer counted it: its own Prometheus metrics show the inference.
    expect(await (await fetch(`${trainerUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()).toMatch(new RegExp(`verge_origin_requests_total\\{model="churn",version="${version}",status="200"\\} 1`));
  });
});

describe("bad jobs fail with a reason and register nothing", () => {
  it("wrong columns, a corrupt file, failed validation, bad params and a failing command", async () => {
    const before = (await versionsOf("churn")).length;
    writeFileSync(join(dir, "offline/churn/corrupt.parquet"), "PAR1 this is not parquet");
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ dataset: { labels: { path: "churn/labels.parquet", label: "churned" }, views: { user_activity: { path: "churn/user_activity.parquet" } } } }, /churned/],
      [{ dataset: { labels: { path: "churn/corrupt.parquet" }, views: { user_activity: { path: "churn/user_activity.parquet" } } } }, /corrupt\.parquet/],
      [{ dataset: { labels: { path: "churn/nowhere.parquet" }, views: { user_activity: { path: "churn/user_activity.parquet" } } } }, /nowhere\.parquet: no such file/],
      [{ validation: { min_rows: 1_000_000 } }, /validation failed: .*min_rows/],
      [{ params: { l2: -1 } }, /params\.l2/],
      [{ algorithm: "command", command: { argv: [join(ROOT, "node_modules/.bin/tsx"), join(ROOT, "trainer/test/fixtures/train-command.ts"), "{train}", "{params}", "{output}"] }, params: { fail: true } }, /exited with 3.*out of memory/],
    ];
    for (const [i, [override, reason]] of cases.entries()) {
      const res = await (override.algorithm === "command" ? trainerAdmin() : trainer()).raw("POST", "/v1/jobs", churnJob({ id: `bad-${i}`, ...override }));
      expect(res.status).toBe(202);
      const job = await finished(`bad-${i}`);
      expect(job.phase).toBe("failed");
      expect(job.error).toMatch(reason);
    }
    expect((await versionsOf("churn")).length).toBe(before);
    // Malformed bodies never become jobs.
    const bad = await trainer().raw("POST", "/v1/jobs", { ...churnJob(), feature_spec: { features: [] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("feature_spec.features");
    const unauthorized = await fetch(`${trainerUrl}/v1/jobs`);
    expect(unauthorized.status).toBe(401);
  });
});

describe("the response playbook", () => {
  it("a drift alert → retraining on recent data → evaluation against production → shadow → A/B rollout → promotion moves the baseline", async () => {
    await stack.admin.ok("PUT", "/v1/models/churn/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
    const { dataset, feature_spec } = churnJob();
    const set = await trainer().ok("PUT", "/v1/playbooks/churn", {
      job: { algorithm: "logreg", dataset, feature_spec },
      lookback_days: 3650,
      deploy: { min_improvement: -0.05, shadow_s: 1, rollout: { steps: [5000, 10000], interval_s: 1 } },
    });
    expect(set.webhook.url).toBe(`${trainerUrl}/hooks/alerts`);
    // An unsigned call to the hook is refused.
    expect((await fetch(`${trainerUrl}/hooks/alerts`, { method: "POST", body: "{}" })).status).toBe(401);

    // Production traffic whose sessions_7d has shifted far above its training distribution.
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", WORKERS.gateway.name);
    const records = Array.from({ length: 600 }, (_, i) => ({ request_id: `pb-${i}`, ts: Date.now(), model: "churn", version: 1, variant: "main", shadow: false, snapshot_version: 1, unit_hash: i, features: { tenure_months: 10 + (i % 30), sessions_7d: 40 + (i % 5), plan: ["free", "pro", "team"][i % 3], is_member: i % 4 === 0 }, outputs: { probability: 0.1 }, latency_ms: { total: 2, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t" }));
    const samples = async () => (await stack.admin.ok("GET", "/v1/models/churn/drift")).versions.find((v) => v.version === 1)?.features[0]?.samples ?? 0;
    const already = await samples(); // the predictions served by the earlier tests
    await q.sendBatch([0, 100, 200, 300, 400, 500].map((i) => ({ body: { records: records.slice(i, i + 100) } })));
    await eventually(async () => ((await samples()) === already + 600 ? true : undefined));
    const before = (await versionsOf("churn")).length;
    const cron = await stack.mf.getWorker(WORKERS.controlPlane.name);
    await cron.scheduled({ cron: "* * * * *" }); // raises the drift alerts and delivers them to the trainer
    const alerts = await stack.admin.ok("GET", "/v1/alerts?model=churn");
    const sessions = alerts.alerts.find((a) => a.kind === "drift" && a.subject === "sessions_7d")!;
    expect(sessions).toBeDefined();
    const jobs = (await trainer().api.listJobs()).jobs.filter((j) => j.id.startsWith("playbook-alert-"));
    expect(jobs).toHaveLength(1); // one retraining for the whole shift, however many alerts it raised
    expect(alerts.alerts.every((a) => a.status === "acknowledged")).toBe(true);
    await cron.scheduled({ cron: "* * * * *" }); // nothing new to deliver: still one job
    const job = await finished(jobs[0]!.id);
    expect(job.error).toBeUndefined();
    expect(job).toMatchObject({ phase: "succeeded", deployment: { outcome: "rolling_out" } });
    const candidate = job.version!;
    expect(candidate).toBe(before + 1);
    expect(job.metrics).toMatchObject({ production_version: 1 });

    // The A/B rollout is the control plane's, judged by the promotion rules.
    await stack.admin.ok("PUT", "/v1/models/churn/promotion-rule", { min_samples: 0, min_duration_s: 0, block_on_drift_alert: false });
    const rollouts = await stack.admin.ok("GET", "/v1/models/churn/rollouts");
    expect(rollouts.rollouts[0]).toMatchObject({ candidate, status: "running" });
    const production = async () => (await stack.admin.ok("GET", "/v1/models/churn/aliases")).aliases.find((a) => a.alias === "production")?.version;
    // Each step lasts its plan's interval (1 s) by the clock; then every evaluation must answer.
    const decisions: string[] = [];
    for (let i = 0; i < 4 && (await production()) !== candidate; i++) {
      const running = (await stack.admin.ok("GET", "/v1/models/churn/rollouts")).rollouts[0]!;
      const due = Date.parse(running.step_started_at) + running.interval_s * 1000;
      while (Date.now() <= due) await new Promise((r) => setTimeout(r, due + 1 - Date.now()));
      const res = await stack.admin.raw("POST", "/v1/models/churn/rollouts/evaluate");
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      decisions.push(rolloutEvaluationSchema.parse(res.body).decision.applied);
    }
    expect(decisions).toEqual(["advanced to 10000 bp", `promoted: production → version ${candidate}`]);
    expect(await production()).toBe(candidate);
    // The drift baseline is now the candidate's own reference, built from the data it was trained on.
    const v = (await versionsOf("churn")).find((x) => x.version === candidate)!;
    expect(v.reference!.features.sessions_7d).toBeDefined();
    expect(v.lineage).toMatchObject({ parent_job: job.id });
    // Every step is in the audit log.
    const audit = await stack.admin.ok("GET", "/v1/audit?limit=200");
    const actions = new Set(audit.entries.map((e) => e.action));
    for (const a of ["alert.ack", "version.create", "rollout.start", "alias.set"]) expect(actions).toContain(a);
    expect([...actions].some((a) => a.startsWith("deployment."))).toBe(true);
  });
});
