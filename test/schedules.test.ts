// A scheduled retrain-evaluate-deploy pipeline that runs by itself, end to end and in real time: a
// schedule set with the `verge` CLI (a real process, against the control plane), a seconds-level cron
// standing in for "nightly", the real training pipeline on Parquet in the offline store, the
// candidate registered with lineage, evaluated against production and deployed; the next
// occurrence skipped while no new labels land, a new one trained when they do; a trainer that
// stops after registering is taken over by a restarted one without training twice.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainerClient, VergeError } from "@verge/client";
import { trainerApi as trainerCatalog } from "@verge/shared/api/trainer";
import { submitJobSchema } from "@verge/shared";
import { kvStore, type KvNamespaceLike } from "@verge/shared/online-store/kv";
import { ROOT, WORKERS } from "../scripts/lib/build.ts";
import { churnJob, writeChurnData } from "../scripts/lib/demo-data.ts";
import { freePort } from "../scripts/lib/redis-server.ts";
import { trainerApi, trainerServices, type TrainerServices } from "../trainer/src/api.ts";
import { loadConfig } from "../trainer/src/config.ts";
import { buildOrigin } from "../trainer/src/server.ts";
import { ADMIN_TOKEN, eventually, testStack, type TestStack } from "./helpers.ts";

const TOKEN = "trainer-token-0123456789abcdef";
let stack: TestStack;
let cpPort: number;
let dir: string;
const trainers: { services: TrainerServices; server: { close(cb: () => void): void }; url: string }[] = [];

async function startTrainer(name: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${cpPort}`,
    VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN,
    VERGE_ORIGIN_SECRET: "origin-secret-0123456789abcdef",
    VERGE_TRAINER_TOKEN: TOKEN,
    VERGE_OFFLINE_ROOT: join(dir, "offline"),
    // Each trainer has its own state folder: replicas share no disk.
    VERGE_TRAINER_STATE: join(dir, `state-${name}`),
    VERGE_TRAINER_ID: name,
    VERGE_SCHEDULE_TICK_MS: "200",
    VERGE_SCHEDULE_LEASE_MS: "2000",
    ...env,
  });
  const features = await stack.mf.getKVNamespace("FEATURES", WORKERS.gateway.name);
  const services = await trainerServices(config, { onlineStore: kvStore(features as unknown as KvNamespaceLike) });
  const server = await new Promise<{ close(cb: () => void): void }>((resolve) => {
    const s = serve({ fetch: trainerApi(services).fetch, port, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const trainer = { services, server, url: `http://127.0.0.1:${port}` };
  trainers.push(trainer);
  return trainer;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-schedules-"));
  await writeChurnData(join(dir, "offline"), { users: 800, events: 6000 });
  cpPort = await freePort();
  stack = await testStack({ ports: { gateway: await freePort(), controlPlane: cpPort } });
});
afterAll(async () => {
  for (const t of trainers) {
    await t.services.close();
    await new Promise<void>((r) => t.server.close(() => r()));
  }
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** `verge ARGS` as a process, against the control plane with the admin token; fails on a non-zero exit. */
const verge = (...args: string[]) =>
  promisify(execFile)(join(ROOT, "node_modules/.bin/verge"), args, { cwd: ROOT, env: { ...process.env, VERGE_URL: `http://127.0.0.1:${cpPort}`, VERGE_TOKEN: ADMIN_TOKEN, VERGE_CONFIG: join(dir, "no-profile.json") } });
const runsOf = async (id: string) => (await stack.admin.api.scheduleRuns({ params: { id }, query: { limit: 500 } })).runs;
/** A model's versions, newest first; none while the model does not exist yet. */
const versionsOf = (model: string) =>
  stack.admin.api.listVersions({ params: { model } }).then(
    (r) => r.versions,
    (err: unknown) => {
      if (err instanceof VergeError && err.status === 404) return [];
      throw err;
    },
  );

describe("a scheduled retrain-evaluate-deploy pipeline", () => {
  it("trains, registers and deploys on its cron, skips occurrences without new labels, and trains again when they land", async () => {
    const trainer = await startTrainer("node-a");
    // Production exists: a first version, trained by hand, serves all traffic.
    await trainer.services.runner.submit(submitJobSchema.parse(churnJob({ id: "bootstrap", stage: false })));
    await trainer.services.runner.whenIdle();
    expect(trainer.services.runner.get("bootstrap")).toMatchObject({ phase: "succeeded", version: 1 });
    await stack.admin.ok("PUT", "/v1/models/churn/aliases/production", { version: 1 });
    await stack.admin.ok("PUT", "/v1/models/churn/deployment", { variants: [{ name: "primary", alias: "production", weight: 10000 }] });
    const deploy = { min_improvement: -1, shadow_s: 0, rollout: { steps: [10000], interval_s: 60 } };
    const spec = {
      description: "nightly churn retrain (every 3 s here)",
      cron: "*/3 * * * * *",
      timezone: "Europe/Paris",
      task: { kind: "train", lookback_days: 3650, job: churnJob({ stage: false, deploy }) },
      trigger: { kind: "files", path: "churn/labels.parquet" },
      retry: { attempts: 2, backoff_s: 1 },
    };
    writeFileSync(join(dir, "schedule.json"), JSON.stringify(spec));
    const put = await verge("schedules", "put", "churn-nightly", join(dir, "schedule.json"));
    expect(put.stdout).toMatch(/^schedule churn-nightly \(revision 1\): \*\/3 \* \* \* \* \* Europe\/Paris, next run /);

    const first = await eventually(async () => (await runsOf("churn-nightly")).find((r) => r.status === "succeeded"), 90_000, 250);
    const result = first.result as { job: string; version: number; deployment: { outcome: string; reason: string } };
    expect(first, JSON.stringify(first.attempts)).toMatchObject({ reason: "cron", attempt: 1 });
    expect(result.job).toBe(`sched-churn-nightly-${Date.parse(first.occurrence)}-1`);
    expect(result.deployment.outcome).toBe("rolling_out");
    const [version] = await versionsOf("churn");
    expect(version).toMatchObject({ version: 2, lineage: { parent_job: result.job }, metrics: { production_version: 1 } });
    expect(version!.description).toMatch(/schedule churn-nightly, cron run of /);
    const deployment = await stack.admin.ok("GET", "/v1/models/churn/deployment");
    expect(JSON.stringify(deployment)).toContain(`"version":${result.version}`);
    expect(await stack.admin.ok("GET", "/v1/models/churn/rollouts")).toMatchObject({ rollouts: [{ candidate: 2, status: "running" }] });

    // Nothing new under churn/labels.parquet: the next occurrences are skipped, saying why (an
    // occurrence skipped because a slow run before it was still open says nothing about the data).
    const skipped = await eventually(async () => (await runsOf("churn-nightly")).find((r) => r.status === "skipped" && Date.parse(r.occurrence) > Date.parse(first.occurrence) && !/previous run of this schedule was still open/.test(JSON.stringify(r.result))), 30_000, 250);
    expect((skipped.result as { skipped: string }).skipped).toMatch(/no new or changed file under churn\/labels\.parquet/);
    expect(await versionsOf("churn")).toHaveLength(2);

    // The evaluation gate is raised (a new revision of the schedule, same cron), then new labels land:
    // the next occurrence trains a candidate, evaluates it against production, and holds it back.
    writeFileSync(join(dir, "schedule.json"), JSON.stringify({ ...spec, task: { ...spec.task, job: churnJob({ stage: false, deploy: { ...deploy, min_improvement: 0.5 } }) } }));
    expect((await verge("schedules", "put", "churn-nightly", join(dir, "schedule.json"))).stdout).toMatch(/\(revision 2\)/);
    await writeChurnData(join(dir, "offline"), { users: 900, events: 6500 });
    const second = await eventually(async () => (await runsOf("churn-nightly")).find((r) => r.status !== "skipped" && Date.parse(r.occurrence) > Date.parse(skipped.occurrence) && ["succeeded", "failed"].includes(r.status)), 90_000, 250);
    expect(second.status, JSON.stringify(second)).toBe("succeeded");
    expect(second.result).toMatchObject({ version: 3, deployment: { outcome: "held", reason: expect.stringMatching(/min_improvement 0\.5; production kept/) } });

    const listed = await verge("schedules", "runs", "churn-nightly");
    expect(listed.stdout).toMatch(/cron\s*│?\s*succeeded\s*│?\s*1\s/);
    expect(listed.stdout).toMatch(/cron\s*│?\s*skipped\s*│?\s*1\s.*no new or changed file/);
    const paused = await verge("schedules", "pause", "churn-nightly");
    expect(paused.stdout).toBe("schedule churn-nightly paused\n");
    // Every occurrence was handled once: one run row per cron time, and one version per training run.
    const all = await runsOf("churn-nightly");
    expect(new Set(all.map((r) => r.occurrence)).size).toBe(all.length);
    expect(await versionsOf("churn")).toHaveLength(1 + all.filter((r) => r.status === "succeeded").length);
    await trainer.services.close();
  }, 300_000);

  it("a trainer that stops after registering is taken over by a restarted one, which records the version instead of training again", async () => {
    const first = await startTrainer("node-b");
    // Production exists, so the scheduled job's deploy step shadows it for a minute after
    // registering: the trainer is stopped in that window, before the run is reported. (Without a
    // production to shadow, the deploy step fails at once and the same trainer's retry would
    // recover the version before the test could stop it.)
    await first.services.runner.submit(submitJobSchema.parse(churnJob({ id: "weekly-bootstrap", model: "churn-weekly", stage: false })));
    await first.services.runner.whenIdle();
    expect(first.services.runner.get("weekly-bootstrap")).toMatchObject({ phase: "succeeded", version: 1 });
    await stack.admin.ok("PUT", "/v1/models/churn-weekly/aliases/production", { version: 1 });
    await stack.admin.ok("PUT", "/v1/schedules/churn-weekly", {
      cron: "0 0 1 1 *",
      task: { kind: "train", job: churnJob({ model: "churn-weekly", stage: false, deploy: { min_improvement: -1, shadow_s: 60, rollout: { steps: [10000], interval_s: 60 } } }) },
      retry: { attempts: 3, backoff_s: 0.2 },
    });
    const asked = await stack.admin.ok("POST", "/v1/schedules/churn-weekly/run");
    const job = `sched-churn-weekly-${Date.parse(asked.occurrence)}-1`;
    // Stop the trainer once its job has registered the version (and is shadowing it).
    const version = await eventually(async () => (await versionsOf("churn-weekly")).find((v) => v.lineage.parent_job === job), 90_000, 20);
    first.services.scheduler.abandon();
    await first.services.runner.close();
    const before = await runsOf("churn-weekly");
    expect(before[0]).toMatchObject({ occurrence: asked.occurrence, status: "running", attempt: 1 });

    // The restarted trainer (new process name, its own disk) takes the run over once the lease expires.
    await startTrainer("node-b-restarted");
    const run = await eventually(async () => (await runsOf("churn-weekly")).find((r) => r.occurrence === asked.occurrence && r.status === "succeeded"), 60_000, 200);
    expect(run.attempt).toBe(2);
    expect(run.result).toMatchObject({ recovered: true, version: version.version, job });
    expect((await versionsOf("churn-weekly")).map((v) => v.version)).toEqual([2, 1]);
    const view = await stack.admin.ok("GET", "/v1/schedules/churn-weekly");
    expect(view.last_occurrence).toBeNull();
  }, 300_000);

  it("the trainer's /v1/schedules: operators' calls forwarded with the trainer's token, run now looked at at once, every route documented", async () => {
    // Its next tick is ten minutes away: only "run now" asking it to look makes the run happen. The
    // lease is long: 800 feature writes into miniflare's KV hold up its heartbeats, and leases are
    // not what is under test here.
    const trainer = await startTrainer("node-c", { VERGE_SCHEDULE_TICK_MS: "600000", VERGE_SCHEDULE_LEASE_MS: "60000" });
    const tr = trainerClient({ baseUrl: trainer.url, token: TOKEN });
    const spec = { cron: "0 0 1 1 *", task: { kind: "materialize", request: { views: [{ name: "user_activity", path: "churn/user_activity.parquet", entity: "user_id" }] } } };
    expect((await tr.raw("PUT", "/v1/schedules/features", spec)).status).toBe(201);
    const replaced = await tr.raw("PUT", "/v1/schedules/features", { ...spec, description: "yearly feature push" });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id: "features", revision: 2, description: "yearly feature push" });
    expect(await tr.api.getSchedule({ params: { id: "features" } })).toEqual(await stack.admin.api.getSchedule({ params: { id: "features" } }));
    expect((await tr.api.listSchedules()).schedules.map((s) => s.id)).toContain("features");

    const asked = await tr.api.runSchedule({ params: { id: "features" } });
    const run = await eventually(async () => (await tr.api.scheduleRuns({ params: { id: "features" } })).runs.find((r) => r.occurrence === asked.occurrence && ["succeeded", "failed"].includes(r.status)), 60_000, 100);
    expect(run.status, JSON.stringify(run)).toBe("succeeded");
    expect(run).toMatchObject({ reason: "manual", attempt: 1, result: { views: { user_activity: { written: expect.any(Number) } } } });
    expect(run.runner).toMatch(/^node-c#/);

    expect((await tr.api.pauseSchedule({ params: { id: "features" } })).paused).toBe(true);
    const again = await tr.raw("POST", "/v1/schedules/features/pause");
    expect([again.status, (again.body as { error: { code: string } }).error.code]).toEqual([409, "conflict"]);
    const missing = await tr.raw("GET", "/v1/schedules/nope");
    expect([missing.status, (missing.body as { error: { code: string } }).error.code]).toEqual([404, "not_found"]);
    expect((await trainerClient({ baseUrl: trainer.url }).raw("GET", "/v1/schedules")).status).toBe(401);
    await tr.api.deleteSchedule({ params: { id: "features" } });
    expect((await stack.admin.raw("GET", "/v1/schedules/features")).status).toBe(404);

    // The trainer's document, as its server builds it: every endpoint of its catalog, schedules included.
    const { app } = buildOrigin(trainer.services.config, { extraRoutes: [{ path: "/", app: trainerApi(trainer.services) }] });
    const doc = (await (await app.request("/openapi.json")).json()) as { paths: Record<string, Record<string, { operationId: string; "x-verge-access": string }>> };
    for (const [id, e] of Object.entries(trainerCatalog)) expect(doc.paths[e.path]?.[e.method], id).toMatchObject({ operationId: id, "x-verge-access": e.access });
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const served = new Set(app.routes.filter((r) => r.path.startsWith("/v1/schedules") && r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`));
    expect(served.size).toBe(8);
    for (const route of served) expect(documented.has(route), route).toBe(true);
  }, 120_000);
});
