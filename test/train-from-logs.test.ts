// Retraining on what was served: predictions through the gateway, labels through feedback, then a
// training job whose dataset is the model's own log range joined with its labels. The set holds
// the features each prediction was actually made with, and the registered version's lineage names
// the log range it was trained on.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitJobSchema, type JobView, type VersionMetadata } from "@verge/shared";
import { DEMO_FEATURE_SPEC, seedDemo } from "../scripts/lib/demo.ts";
import { freePort } from "../scripts/lib/redis-server.ts";
import { trainerServices, type TrainerServices } from "../trainer/src/api.ts";
import { loadConfig } from "../trainer/src/config.ts";
import { loadLogsTrainingSet } from "../trainer/src/offline/log-dataset.ts";
import { registryClient } from "../trainer/src/registry/client.ts";
import { ADMIN_TOKEN, CLIENT_KEY, eventually, testStack, type TestStack } from "./helpers.ts";

let stack: TestStack;
let services: TrainerServices;
let dir: string;
let cpUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-logs-training-"));
  const cpPort = await freePort();
  cpUrl = `http://127.0.0.1:${cpPort}`;
  stack = await testStack({ ports: { gateway: await freePort(), controlPlane: cpPort } });
  await seedDemo(stack.admin, CLIENT_KEY);
  const config = loadConfig({
    VERGE_CONTROL_PLANE_URL: cpUrl,
    VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN,
    VERGE_ORIGIN_SECRET: "origin-secret-0123456789abcdef",
    VERGE_OFFLINE_ROOT: join(dir, "offline"),
    VERGE_TRAINER_STATE: join(dir, "state"),
  });
  services = await trainerServices(config);
});
afterAll(async () => {
  await services?.runner.close();
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const N = 400;
/** The outcome the labels follow: short tenure and few sessions churn. */
const truth = (f: { tenure_months: number; sessions_7d: number }) => (f.tenure_months < 12 && f.sessions_7d < 4 ? 1 : 0);

describe("training from served logs", () => {
  it("serves, labels, trains on the log range joined with its labels, and names the range in the lineage", async () => {
    const from = Date.now() - 60_000;
    const plans = ["free", "pro", "team"];
    const served: Record<string, { tenure_months: number; sessions_7d: number }> = {};
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const k = i + j;
          // Every fifth request leaves sessions_7d out: the gateway serves (and logs) its default, 3.
          const features = { tenure_months: (k * 7) % 36, plan: plans[k % 3]!, is_member: k % 4 === 0, ...(k % 5 ? { sessions_7d: k % 9 } : {}) };
          const res = await stack.predict("demo", { unit: `t-${k}`, request_id: `t-${k}`, features });
          expect(res.status).toBe(200);
          await res.body?.cancel();
          served[`t-${k}`] = { tenure_months: features.tenure_months, sessions_7d: features.sessions_7d ?? 3 };
        }),
      );
    }
    const items = Object.entries(served).map(([request_id, f]) => ({ request_id, label: truth(f) }));
    for (let i = 0; i < items.length; i += 200) {
      const res = await stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" }, body: JSON.stringify({ items: items.slice(i, i + 200) }) });
      expect(res.status).toBe(202);
    }
    const to = Date.now() + 60_000;
    const registry = registryClient({ VERGE_CONTROL_PLANE_URL: cpUrl, VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN });
    const dataset = { logs: { from, to }, holdout_fraction: 0.2 };
    const set = await eventually(async () => {
      const s = await loadLogsTrainingSet(registry, "demo", DEMO_FEATURE_SPEC, dataset);
      return s.train.rows.length + s.holdout.rows.length === N ? s : undefined;
    }, 60_000);
    // The rows are the features as served: defaults included where the request left them out.
    const rows = [...set.train.rows, ...set.holdout.rows];
    const labels = [...set.train.labels, ...set.holdout.labels];
    rows.forEach((row, i) => expect(labels[i]).toBe(truth(row as { tenure_months: number; sessions_7d: number })));
    expect(rows.filter((r) => r.sessions_7d === 3).length).toBeGreaterThanOrEqual(N / 5);
    expect(set.reference).toMatch(new RegExp(`^logs:demo from=${new Date(from).toISOString()} to=${new Date(to).toISOString()} \\(${N} labelled predictions\\)$`));

    const job = submitJobSchema.parse({
      id: "from-logs",
      model: "demo",
      algorithm: "logreg",
      dataset,
      feature_spec: DEMO_FEATURE_SPEC,
      validation: { min_rows: 50, max_psi: 100 },
    });
    await services.runner.submit(job);
    await services.runner.whenIdle();
    const view = services.runner.get("from-logs") as JobView;
    expect(view.error).toBeUndefined();
    expect(view).toMatchObject({ phase: "succeeded" });
    expect(view.metrics!.train_rows! + view.metrics!.holdout_rows!).toBe(N);
    expect(view.metrics!.auc).toBeGreaterThan(0.8);
    const version = await stack.admin.ok("GET", `/v1/models/demo/versions/${view.version}`);
    expect(version.lineage).toMatchObject({ training_data: set.reference, training_data_sha256: set.sha256, parent_job: "from-logs" });
  });

  it("refuses a log range that ends before it starts, naming the field", () => {
    const parsed = submitJobSchema.safeParse({ model: "demo", algorithm: "logreg", dataset: { logs: { from: 2000, to: 1000 } }, feature_spec: DEMO_FEATURE_SPEC });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error!.issues)).toMatch(/logs\.from must be before logs\.to/);
  });
});
