// The trainer's deploy step against a real control plane (workerd, D1): after the shadow period it
// reads the deployment again and removes only its shadow, keeping what operators changed meanwhile;
// the shadow period is a persisted wait that frees the job's slot and survives a restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployCandidateSchema, submitJobSchema, type JobView } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { ADMIN_TOKEN, testStack, type TestStack } from "./helpers.ts";
import { continueDeploy, deployCandidate } from "../trainer/src/jobs/deploy.ts";
import { registryClient, type RegistryClient } from "../trainer/src/registry/client.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobRunner, type JobHandle } from "../trainer/src/jobs/runner.ts";
import { JobStore, type WaitingStep } from "../trainer/src/jobs/store.ts";
import { recoverJob } from "../trainer/src/jobs/recover.ts";
import { recordingJob } from "../trainer/test/recording-job.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
});
afterAll(() => stack?.dispose());

const meta = {
  runtime: "edge" as const,
  inputs: [{ name: "input", shape: [-1, 1] }],
  outputs: [{ name: "probability", shape: [-1, 1] }],
  feature_spec: { features: [{ name: "x", type: "number" as const, default: 0 }] },
};

describe("deploy step", () => {
  it("keeps an operator's change made during the shadow period", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "dep", task: "binary_classification" });
    for (const w of [0.1, 0.2, 0.3]) await stack.admin.uploadVersion("dep", logisticRegressionModel([w], 0), meta);
    await stack.admin.ok("PUT", "/v1/models/dep/aliases/production", { version: 1 });
    await stack.admin.ok("PUT", "/v1/models/dep/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });

    const real = registryClient({ VERGE_CONTROL_PLANE_URL: "", VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN }, (url, init) => stack.controlPlane(String(url), init));
    // The shadow period ends with a read of the deployment: an operator changes it just before.
    let reads = 0;
    const registry: RegistryClient = {
      ...real,
      async deployment(model) {
        if (++reads === 2) {
          await stack.admin.ok("PUT", "/v1/models/dep/deployment", {
            variants: [{ name: "a", version: 1, weight: 7000 }, { name: "b", version: 3, weight: 3000 }],
            shadows: (await stack.admin.ok("GET", "/v1/models/dep/deployment")).shadows,
          });
        }
        return real.deployment(model);
      },
    };
    const recorded: Partial<JobView>[] = [];
    let waited: WaitingStep | undefined;
    const job = recordingJob(submitJobSchema.parse({ model: "dep", algorithm: "logreg", dataset: { labels: { path: "l.parquet" } }, feature_spec: meta.feature_spec }), recorded, (step) => void (waited = step));
    const plan = deployCandidateSchema.parse({ min_improvement: -1, shadow_s: 0, rollout: { steps: [5000, 10000], interval_s: 600 } });
    await deployCandidate(job, registry, plan, 2, { auc: 0.8 });
    expect(waited).toMatchObject({ step: "rollout", version: 2 });
    await continueDeploy(registry)(job, waited!);
    expect(recorded.at(-1)?.deployment?.outcome).toBe("rolling_out");

    // The rollout runs from the deployment as the operator left it (less the shadow): cancelling it restores exactly that.
    await stack.admin.ok("POST", "/v1/models/dep/rollouts/cancel");
    const restored = await stack.admin.ok("GET", "/v1/models/dep/deployment");
    expect(restored.variants).toEqual([{ name: "a", version: 1, weight: 7000 }, { name: "b", version: 3, weight: 3000 }]);
    expect(restored.shadows).toEqual([]);
  });

  it("a restart during the shadow period takes the shadow out again", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "restarted", task: "binary_classification" });
    for (const w of [0.1, 0.2]) await stack.admin.uploadVersion("restarted", logisticRegressionModel([w], 0), meta);
    await stack.admin.ok("PUT", "/v1/models/restarted/deployment", { variants: [{ name: "main", version: 1, weight: 10000 }], shadows: [{ version: 2, rate: 10000 }] });
    const dir = mkdtempSync(join(tmpdir(), "verge-deploy-restart-"));
    try {
      // A job persisted mid-shadow: it had registered version 2 and was deploying when the trainer stopped.
      const store = new JobStore(dir);
      const runner = new JobRunner(store, async (job) => {
        job.record({ version: 2 });
        job.phase("deploying", 0.95, "shadowing");
        await new Promise((_, reject) => job.signal.addEventListener("abort", () => reject(job.signal.reason as Error)));
      }, 1);
      await runner.start();
      await runner.submit(submitJobSchema.parse({ id: "shadowing", model: "restarted", algorithm: "logreg", dataset: { labels: { path: "l.parquet" } }, feature_spec: meta.feature_spec }));
      const deadline = Date.now() + 10_000;
      while (runner.get("shadowing").phase !== "deploying" && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      const persisted = new JobStore(dir).loadAll().find((r) => r.view.id === "shadowing")!;
      expect(persisted.view).toMatchObject({ phase: "deploying", version: 2 });

      const registry = registryClient({ VERGE_CONTROL_PLANE_URL: "", VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN }, (url, init) => stack.controlPlane(String(url), init));
      const restarted = new JobRunner(new JobStore(dir), async () => undefined, 1, recoverJob(registry));
      await restarted.start();
      expect(restarted.get("shadowing").phase).toBe("failed");
      const after = await stack.admin.ok("GET", "/v1/models/restarted/deployment");
      expect(after.shadows).toEqual([]);
      expect(after.variants).toEqual([{ name: "main", version: 1, weight: 10000 }]);
      await runner.close();
      await restarted.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a restart during the shadow period resumes: it keeps waiting, then starts the rollout; the slot is free meanwhile", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "resumed", task: "binary_classification" });
    for (const w of [0.1, 0.2]) await stack.admin.uploadVersion("resumed", logisticRegressionModel([w], 0), meta);
    await stack.admin.ok("PUT", "/v1/models/resumed/aliases/production", { version: 1 });
    await stack.admin.ok("PUT", "/v1/models/resumed/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
    const registry = registryClient({ VERGE_CONTROL_PLANE_URL: "", VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN }, (url, init) => stack.controlPlane(String(url), init));
    const plan = deployCandidateSchema.parse({ min_improvement: -1, shadow_s: 3600, rollout: { steps: [5000, 10000], interval_s: 600 } });
    const spec = (id: string) => submitJobSchema.parse({ id, model: "resumed", algorithm: "logreg", dataset: { labels: { path: "l.parquet" } }, feature_spec: meta.feature_spec });
    // The deploying job registers version 2 and deploys it; any other job just finishes.
    const pipeline = async (job: JobHandle) => {
      if (job.id !== "deploying") return;
      job.record({ version: 2 });
      await deployCandidate(job, registry, plan, 2, { auc: 0.8 });
    };
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise((r) => setTimeout(r, 20));
    };
    const dir = mkdtempSync(join(tmpdir(), "verge-deploy-resume-"));
    const runners: JobRunner[] = [];
    const start = async () => {
      const r = new JobRunner(new JobStore(dir), pipeline, 1, recoverJob(registry), continueDeploy(registry));
      runners.push(r);
      await r.start();
      return r;
    };
    try {
      // One slot: the second job can only run if the first gave its slot back while it waits.
      const first = await start();
      await first.submit(spec("deploying"));
      await first.submit(spec("other"));
      await until(() => first.get("other").phase === "succeeded");
      expect(first.get("deploying").phase).toBe("deploying");
      const parked = new JobStore(dir).loadAll().find((r) => r.view.id === "deploying")!;
      expect(parked.waiting).toMatchObject({ step: "rollout", version: 2 });
      expect(Date.parse(parked.waiting!.shadow_until) - Date.parse(parked.waiting!.shadow_started_at)).toBe(3600_000);
      expect((await stack.admin.ok("GET", "/v1/models/resumed/deployment")).shadows).toEqual([{ version: 2, rate: plan.shadow_rate }]);
      await first.close();

      // Restarted inside the shadow period: still waiting, shadow on, no rollout.
      const second = await start();
      expect(second.get("deploying").phase).toBe("deploying");
      expect((await stack.admin.ok("GET", "/v1/models/resumed/deployment")).shadows).toHaveLength(1);
      expect((await stack.admin.ok("GET", "/v1/models/resumed/rollouts")).rollouts ?? []).toEqual([]);
      await second.close();

      // The period ends while the trainer is down (the persisted end moved back): the restart resumes.
      const store = new JobStore(dir);
      const record = store.loadAll().find((r) => r.view.id === "deploying")!;
      store.save({ ...record, waiting: { ...record.waiting!, shadow_until: new Date(Date.now() - 1000).toISOString() } });
      const third = await start();
      await third.whenIdle();
      expect(third.get("deploying")).toMatchObject({ phase: "succeeded", deployment: { outcome: "rolling_out" } });
      const after = await stack.admin.ok("GET", "/v1/models/resumed/deployment");
      expect(after.shadows).toEqual([]);
      const { rollouts } = await stack.admin.ok("GET", "/v1/models/resumed/rollouts");
      expect(rollouts).toHaveLength(1);
      expect(rollouts[0]).toMatchObject({ status: "running" });
      expect(JSON.stringify(rollouts[0])).toContain("job deploying");
      expect(new JobStore(dir).loadAll().find((r) => r.view.id === "deploying")!.waiting).toBeUndefined();
    } finally {
      for (const r of runners) await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
