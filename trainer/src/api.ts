// The trainer's own API for origin operators (jobs, materialization, batch predictions,
// schedules), behind one bearer token, and the services it runs on: the offline store, the job
// runner, the registry, the scheduler.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { hostname } from "node:os";
import { Hono } from "hono";
import * as ort from "onnxruntime-node";
import { ApiError, batchPredictionsSchema, materializeSchema, type BatchPredictionsRequest, type MaterializeRequest, type OnlineStore } from "@verge/shared";
import { jsonBody, onError } from "@verge/shared/http";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { describe } from "@verge/shared/openapi";
import { upstashStore } from "@verge/shared/online-store/upstash";
import { algorithms } from "./algorithms/index.ts";
import type { Config } from "./config.ts";
import { evaluate } from "./evaluate/metrics.ts";
import { trainingPipeline } from "./jobs/pipeline.ts";
import { jobRoutes } from "./jobs/routes.ts";
import { JobRunner } from "./jobs/runner.ts";
import { JobStore } from "./jobs/store.ts";
import { offlineStoreOptions, withOfflineStore } from "./offline/store.ts";
import { loadTrainingSet } from "./offline/training-set.ts";
import { batchPredictions } from "./materialize/batch-predictions.ts";
import { materialize } from "./materialize/materialize.ts";
import { createSession } from "./serving/models.ts";
import { alertHook, playbookRoutes, PlaybookStore } from "./playbook/playbook.ts";
import { registryClient, type RegistryClient } from "./registry/client.ts";
import { scheduleClient, type ScheduleClient } from "./schedules/client.ts";
import { scheduleRoutes } from "./schedules/routes.ts";
import { Scheduler } from "./schedules/scheduler.ts";
import { executeTask } from "./schedules/tasks.ts";
import { evaluateTrigger, type LabelledLogSource } from "./schedules/triggers.ts";
import { referenceHistograms } from "./validation/reference.ts";
import { validateTrainingSet } from "./validation/validate.ts";

export interface TrainerServices {
  runner: JobRunner;
  playbooks: PlaybookStore;
  registry: RegistryClient;
  schedules: ScheduleClient;
  /** Runs due schedules (started unless VERGE_SCHEDULES=off). */
  scheduler: Scheduler;
  onlineStore: OnlineStore | undefined;
  config: Config;
  /** Stops the scheduler, then the jobs. */
  close(): Promise<void>;
}

export interface TrainerServicesOptions {
  onlineStore?: OnlineStore | undefined;
  fetcher?: typeof fetch;
  /** Where a `labelled_logs` schedule trigger counts labelled predictions (none yet: such runs fail saying so). */
  labelledLogs?: LabelledLogSource;
}

export async function trainerServices(config: Config, options: TrainerServicesOptions = {}): Promise<TrainerServices> {
  const onlineStore = options.onlineStore ?? (config.VERGE_ONLINE_STORE === "upstash" ? upstashStore({ url: config.UPSTASH_REDIS_REST_URL!, token: config.UPSTASH_REDIS_REST_TOKEN! }) : undefined);
  const registry = registryClient(config, options.fetcher);
  const offline = offlineStoreOptions(config);
  const pipeline = trainingPipeline({
    registry,
    algorithms,
    codeVersion: config.VERGE_CODE_VERSION ?? gitCommit(),
    loadTrainingSet: (job) => withOfflineStore(offline, (store) => loadTrainingSet(store, job.feature_spec, job.dataset)),
    validate: (job, set, previous) => {
      const report = validateTrainingSet({ spec: job.feature_spec, task: job.task, rows: set.train.rows, labels: set.train.labels, columns: set.columns }, job.validation, previous);
      return { ok: report.ok, failures: report.checks.filter((c) => !c.ok).map((c) => c.message), report };
    },
    evaluate,
    referenceHistograms,
  });
  // A job that stopped while registering may have registered: its version carries the job's id.
  const recover = async (record: { view: { id: string; model: string; phase: string } }) => {
    if (record.view.phase !== "registering") return undefined;
    const found = (await registry.versions(record.view.model)).find((v) => v.lineage?.parent_job === record.view.id);
    return found ? { phase: "succeeded" as const, version: found.version } : undefined;
  };
  const runner = new JobRunner(new JobStore(config.VERGE_TRAINER_STATE), pipeline, config.VERGE_JOB_CONCURRENCY, recover);
  await runner.start();
  const schedules = scheduleClient(config, options.fetcher);
  const partial = { runner, registry, onlineStore, config };
  const scheduler = new Scheduler({
    client: schedules,
    // A fresh suffix per process: a restarted trainer does not pass for its former self.
    runner: `${config.VERGE_TRAINER_ID ?? hostname()}#${randomBytes(3).toString("hex")}`,
    leaseMs: config.VERGE_SCHEDULE_LEASE_MS,
    tickMs: config.VERGE_SCHEDULE_TICK_MS,
    execute: (ctx) => executeTask(ctx, { runner, registry, materialize: (r) => runMaterialize(partial, r), batchPredictions: (r) => runBatchPredictions(partial, r) }),
    evaluateTrigger: (trigger, last) => evaluateTrigger(trigger, last, { offline, labelledLogs: options.labelledLogs }),
  });
  if (config.VERGE_SCHEDULES === "on") scheduler.start();
  return {
    ...partial,
    schedules,
    scheduler,
    playbooks: new PlaybookStore(config.VERGE_TRAINER_STATE),
    async close() {
      await scheduler.close();
      await runner.close();
    },
  };
}

type Services = Pick<TrainerServices, "config" | "onlineStore" | "registry">;

export async function runMaterialize(services: Services, request: MaterializeRequest) {
  const online = requireOnline(services);
  return withOfflineStore(offlineStoreOptions(services.config), (offline) => materialize(offline, online, request, services.config.VERGE_TRAINER_STATE));
}

export async function runBatchPredictions(services: Services, request: BatchPredictionsRequest) {
  const online = requireOnline(services);
  const version = await services.registry.version(request.model, request.version);
  if (!version) throw new ApiError("not_found", `model: ${request.model} has no version ${request.version}`);
  const { session } = await createSession(await services.registry.artifact(request.model, request.version), "cpu");
  const run = async (x: Float32Array, rows: number, width: number) => {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, [rows, width]) });
    return Float32Array.from(out[session.outputNames[0]!]!.data as Float32Array);
  };
  return withOfflineStore(offlineStoreOptions(services.config), (offline) => batchPredictions(offline, online, request, { model: request.model, ...version }, run));
}

export function trainerApi(services: TrainerServices) {
  const token = services.config.VERGE_TRAINER_TOKEN;
  const expected = token ? digest(token) : undefined;
  const publicUrl = (services.config.VERGE_TRAINER_PUBLIC_URL ?? `http://${services.config.HOST}:${services.config.PORT}`).replace(/\/$/, "");
  return new Hono()
    .route("/hooks/alerts", alertHook(services.playbooks, services.registry, services.runner))
    .use("/v1/*", async (c, next) => {
      const given = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
      if (!expected) throw new ApiError("unavailable", "the trainer API is off: set VERGE_TRAINER_TOKEN");
      if (!given || !timingSafeEqual(digest(given), expected)) throw new ApiError("unauthorized", "authorization: a valid trainer token is required (Bearer VERGE_TRAINER_TOKEN)");
      await next();
    })
    .route("/v1/jobs", jobRoutes(services.runner))
    .route("/v1/playbooks", playbookRoutes(services.playbooks, services.registry, `${publicUrl}/hooks/alerts`))
    .route("/v1/schedules", scheduleRoutes(services.schedules, () => void services.scheduler.tick().catch(() => undefined)))
    .post("/v1/materialize", describe(api.materialize), jsonBody(materializeSchema), async (c) => c.json(await runMaterialize(services, c.req.valid("json"))))
    .post("/v1/batch-predictions", describe(api.batchPredictions), jsonBody(batchPredictionsSchema), async (c) => c.json(await runBatchPredictions(services, c.req.valid("json"))))
    .onError(onError);
}

function requireOnline(services: Pick<TrainerServices, "onlineStore">): OnlineStore {
  if (!services.onlineStore) throw new ApiError("unavailable", "no online store is configured: set VERGE_ONLINE_STORE=upstash with UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN");
  return services.onlineStore;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}
