// The job runner and its API: persisted state, restart, concurrency limit, idempotent ids,
// cancellation and server-sent events. The pipeline here is a controllable stand-in; the real
// one is exercised end to end in test/training.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createParser } from "eventsource-parser";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { submitJobSchema, type JobEvent, type JobView } from "@verge/shared";
import { onError } from "@verge/shared/http";
import type { TrainerEnv } from "../src/http/auth.ts";
import { jobRoutes } from "../src/jobs/routes.ts";
import { JobFailure, JobRunner, type JobHandle } from "../src/jobs/runner.ts";
import { JobStore } from "../src/jobs/store.ts";

const body = (id?: string, model = "m") => ({
  ...(id ? { id } : {}),
  model,
  algorithm: "logreg",
  dataset: { labels: { path: "labels.parquet" } },
  feature_spec: { features: [{ name: "x", type: "number", default: 0 }] },
});

/** A pipeline whose jobs wait until released, fail on demand, and honour cancellation. */
function gatedPipeline() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const pipeline = async (job: JobHandle) => {
    started.push(job.id);
    job.phase("training", 0.2, "training");
    await new Promise<void>((resolve, reject) => {
      gates.set(job.id, resolve);
      job.signal.addEventListener("abort", () => reject(job.signal.reason as Error));
    });
    if (job.spec.model === "bad") throw new JobFailure("validation failed: x is missing in 90% of rows");
    job.progress(0.9, "almost");
    job.record({ version: 7, metrics: { auc: 0.8 } });
  };
  return { pipeline, gates, started };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "verge-jobs-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const flush = () => new Promise((r) => setTimeout(r, 10));

describe("job runner", () => {
  it("runs at most `concurrency` jobs at once, in order, and persists every state", async () => {
    const { pipeline, gates, started } = gatedPipeline();
    const runner = new JobRunner(new JobStore(dir), pipeline, 2);
    await runner.start();
    const ids = [];
    for (const id of ["a", "b", "c"]) ids.push((await runner.submit(submitJobSchema.parse(body(id)))).view.id);
    await flush();
    expect(started).toEqual(["a", "b"]);
    expect(runner.get("c").phase).toBe("queued");
    gates.get("a")!();
    await flush();
    expect(started).toEqual(["a", "b", "c"]);
    expect(runner.get("a")).toMatchObject({ phase: "succeeded", progress: 1, version: 7, metrics: { auc: 0.8 } });
    gates.get("b")!();
    gates.get("c")!();
    await runner.whenIdle();
    // A second runner over the same folder sees the same jobs and their events.
    const again = new JobRunner(new JobStore(dir), pipeline, 2);
    await again.start();
    expect(again.list().map((j) => [j.id, j.phase])).toEqual([["c", "succeeded"], ["b", "succeeded"], ["a", "succeeded"]]);
    expect(again.events("a").map((e) => e.phase)).toEqual(["queued", "loading", "training", "succeeded"]);
  });

  it("is idempotent by client id: same body → same job, different body → 409", async () => {
    const { pipeline, gates } = gatedPipeline();
    const runner = new JobRunner(new JobStore(dir), pipeline, 1);
    await runner.start();
    const first = await runner.submit(submitJobSchema.parse(body("same")));
    const second = await runner.submit(submitJobSchema.parse(body("same")));
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, view: { id: "same" } });
    await expect(runner.submit(submitJobSchema.parse(body("same", "other")))).rejects.toMatchObject({ code: "conflict" });
    await flush();
    gates.get("same")!();
    await runner.whenIdle();
    expect(runner.list()).toHaveLength(1);
  });

  it("after a restart, an interrupted job is failed with its phase and a queued one runs", async () => {
    const { pipeline } = gatedPipeline();
    const store = new JobStore(dir);
    const runner = new JobRunner(store, pipeline, 1);
    await runner.start();
    await runner.submit(submitJobSchema.parse(body("running")));
    await runner.submit(submitJobSchema.parse(body("waiting")));
    await flush();
    // Simulate a crash: the process is gone, its files remain as they were.
    const next = gatedPipeline();
    const restarted = new JobRunner(new JobStore(dir), next.pipeline, 1);
    await restarted.start();
    expect(restarted.get("running")).toMatchObject({ phase: "failed", error: expect.stringContaining("interrupted: the trainer stopped while the job was training") });
    await flush();
    expect(next.started).toEqual(["waiting"]);
    next.gates.get("waiting")!();
    await restarted.whenIdle();
    expect(restarted.get("waiting").phase).toBe("succeeded");
    await runner.close();
  });

  it("a job found mid-registration is reconciled when the registry has its version", async () => {
    const { pipeline } = gatedPipeline();
    const store = new JobStore(dir);
    const runner = new JobRunner(store, pipeline, 1);
    await runner.start();
    await runner.submit(submitJobSchema.parse(body("reg")));
    await flush();
    const record = store.loadAll()[0]!;
    store.save({ ...record, view: { ...record.view, phase: "registering" } });
    const restarted = new JobRunner(new JobStore(dir), pipeline, 1, async (r) => (r.view.phase === "registering" ? { phase: "succeeded", version: 3 } : undefined));
    await restarted.start();
    expect(restarted.get("reg")).toMatchObject({ phase: "succeeded", version: 3 });
    await runner.close();
  });

  it("cancels queued and running jobs; a failing job keeps its reason; ended jobs cannot be cancelled", async () => {
    const { pipeline, gates } = gatedPipeline();
    const runner = new JobRunner(new JobStore(dir), pipeline, 1);
    await runner.start();
    await runner.submit(submitJobSchema.parse(body("run")));
    await runner.submit(submitJobSchema.parse(body("wait")));
    await runner.submit(submitJobSchema.parse(body("fails", "bad")));
    await flush();
    expect(runner.cancel("wait").phase).toBe("cancelled");
    runner.cancel("run");
    await flush();
    expect(runner.get("run").phase).toBe("cancelled");
    gates.get("fails")!();
    await runner.whenIdle();
    expect(runner.get("fails")).toMatchObject({ phase: "failed", error: "validation failed: x is missing in 90% of rows" });
    expect(() => runner.cancel("fails")).toThrow(/already failed/);
    expect(() => runner.get("nope")).toThrow(/no job/);
  });
});

describe("jobs API", () => {
  async function readSse(res: Response, stopAt = "succeeded"): Promise<JobEvent[]> {
    const events: JobEvent[] = [];
    const parser = createParser({ onEvent: (e) => events.push(JSON.parse(e.data) as JobEvent) });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (events.at(-1)?.phase === stopAt) break;
    }
    return events;
  }

  it("submits (202, then 200 for the same id), lists, streams events live to the end, and refuses bad bodies naming the field", async () => {
    const { pipeline, gates } = gatedPipeline();
    const runner = new JobRunner(new JobStore(dir), pipeline, 1);
    await runner.start();
    // Roles are under test in roles.test.ts (against a real control plane); here, an operator.
    const app = new Hono<TrainerEnv>().use("*", async (c, next) => {
        c.set("principal", { actor: "test", role: "operator" });
        await next();
      }).route("/", jobRoutes(runner, [])).onError(onError);
    const post = (b: unknown) => app.request("/", { method: "POST", body: JSON.stringify(b), headers: { "content-type": "application/json" } });
    const created = await post(body("j1"));
    expect(created.status).toBe(202);
    expect(await created.json()).toMatchObject({ id: "j1", created: true });
    expect((await post(body("j1"))).status).toBe(200);
    const stream = app.request("/j1/events");
    await flush();
    gates.get("j1")!();
    const events = await readSse(await stream);
    expect(events.map((e) => e.phase)).toEqual(["queued", "loading", "training", "succeeded"]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    // Resuming after event 2 replays only what came later.
    const resumed = await readSse(await app.request("/j1/events", { headers: { "last-event-id": "2" } }));
    expect(resumed.map((e) => e.seq)).toEqual([3, 4]);
    const view = (await (await app.request("/j1")).json()) as JobView;
    expect(view).toMatchObject({ phase: "succeeded", version: 7 });
    expect(((await (await app.request("/")).json()) as { jobs: JobView[] }).jobs).toHaveLength(1);
    for (const [bad, field] of [
      [{ ...body(), algorithm: "svm" }, "algorithm"],
      [{ ...body(), model: "Bad Name" }, "model"],
      [{ ...body(), dataset: { labels: { path: "../etc/passwd.csv" } } }, "dataset.labels.path"],
      [{ ...body(), algorithm: "command" }, "command"],
      [{ ...body(), id: "has space" }, "id"],
    ] as const) {
      const res = await post(bad);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
    }
    expect((await app.request("/nope")).status).toBe(404);
    expect((await app.request("/j1/cancel", { method: "POST" })).status).toBe(409);
  });
});
