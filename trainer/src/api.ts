// The trainer's own API for origin operators (jobs, materialization, batch predictions,
// schedules, playbooks), and the services it runs on: the offline store, the job runner, the
// registry, the scheduler.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Hono } from "hono";
import * as ort from "onnxruntime-node";
import { ApiError, batchPredictionsSchema, isLogsDataset, materializeSchema, type BatchPredictionsRequest, type MaterializeRequest, type OnlineStore, type TableDataset } from "@verge/shared";
import { jsonBody, onError } from "@verge/shared/http";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { algorithms } from "./algorithms/index.ts";
import type { Config } from "./config.ts";
import { authenticated, controlPlaneAuth, guard, type Authenticate, type TrainerEnv } from "./http/auth.ts";
import { configSecrets } from "./jobs/command-policy.ts";
import { onlineStoreFromConfig } from "./online-store/online-store.ts";
import { evaluate } from "./evaluate/metrics.ts";
import { trainingPipeline } from "./jobs/pipeline.ts";
import { jobRoutes } from "./jobs/routes.ts";
import { JobRunner } from "./jobs/runner.ts";
import { recoverJob } from "./jobs/recover.ts";
import { continueDeploy } from "./jobs/deploy.ts";
import { JobStore } from "./jobs/store.ts";
import { offlineStoreOptions, withOfflineStore } from "./offline/store.ts";
import { loadLogsTrainingSet } from "./offline/log-dataset.ts";
import { loadTrainingSet } from "./offline/training-set.ts";
import { batchPredictions } from "./materialize/batch-predictions.ts";
import { materialize } from "./materialize/materialize.ts";
import { createSession } from "./serving/models.ts";
import { alertHook, playbookRoutes, PlaybookStore } from "./playbook/playbook.ts";
import { registryClient, type RegistryClient } from "./registry/client.ts";
import { scheduleClient, type ScheduleClient } from "./schedules/client.ts";
import { labelledLogSource } from "./schedules/labelled-logs.ts";
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
  /** Where a `labelled_logs` schedule trigger counts labelled predictions; the control plane's log lake by default. */
  labelledLogs?: LabelledLogSource;
}

export async function trainerServices(config: Config, options: TrainerServicesOptions = {}): Promise<TrainerServices> {
  const onlineStore = options.onlineStore ?? onlineStoreFromConfig(config);
  const playbooks = new PlaybookStore(config.VERGE_TRAINER_STATE);
  const registry = registryClient(config, options.fetcher);
  const offline = offlineStoreOptions(config);
  const pipeline = trainingPipeline({
    registry,
    algorithms,
    codeVersion: config.VERGE_CODE_VERSION ?? gitCommit(),
    loadTrainingSet: (job, signal) =>
      isLogsDataset(job.dataset)
        ? loadLogsTrainingSet(registry, job.model, job.feature_spec, job.dataset, signal)
        : withOfflineStore(offline, (store) => loadTrainingSet(store, job.feature_spec, job.dataset as TableDataset)),
    validate: (job, set, previous) => {
      const report = validateTrainingSet({ spec: job.feature_spec, task: job.task, rows: set.train.rows, labels: set.train.labels, columns: set.columns }, job.validation, previous);
      return { ok: report.ok, failures: report.checks.filter((c) => !c.ok).map((c) => c.message), report };
    },
    evaluate,
    referenceHistograms,
    command: { allowlist: config.VERGE_COMMAND_ALLOWLIST, secrets: () => trainerSecrets(config, playbooks) },
  });
  const runner = new JobRunner(new JobStore(config.VERGE_TRAINER_STATE), pipeline, config.VERGE_JOB_CONCURRENCY, recoverJob(registry), continueDeploy(registry));
  await runner.start();
  const schedules = scheduleClient(config, options.fetcher);
  const labelledLogs = options.labelledLogs ?? labelledLogSource(registry, { feedbackWindowDays: config.VERGE_FEEDBACK_WINDOW_DAYS });
  const partial = { runner, registry, onlineStore, config };
  const scheduler = new Scheduler({
    client: schedules,
    // A fresh suffix per process: a restarted trainer does not pass for its former self.
    runner: `${config.VERGE_TRAINER_ID ?? hostname()}#${randomBytes(3).toString("hex")}`,
    leaseMs: config.VERGE_SCHEDULE_LEASE_MS,
    tickMs: config.VERGE_SCHEDULE_TICK_MS,
    execute: (ctx) => executeTask(ctx, { runner, registry, materialize: (r) => runMaterialize(partial, r), batchPredictions: (r) => runBatchPredictions(partial, r) }),
    evaluateTrigger: (trigger, last) => evaluateTrigger(trigger, last, { offline, labelledLogs }),
  });
  if (config.VERGE_SCHEDULES === "on") scheduler.start();
  // A webhook an admin registered for this trainer: its credential, so the trainer needs no admin token.
  if (config.VERGE_ALERT_WEBHOOK_ID && config.VERGE_ALERT_WEBHOOK_SECRET) {
    playbooks.state.webhook = { id: config.VERGE_ALERT_WEBHOOK_ID, secret: config.VERGE_ALERT_WEBHOOK_SECRET, url: hookUrl(config) };
  }
  return {
    ...partial,
    schedules,
    scheduler,
    playbooks,
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

/** Where the control plane delivers this trainer's alerts. */
export function hookUrl(config: Config): string {
  return `${(config.VERGE_TRAINER_PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/$/, "")}/hooks/alerts`;
}

/** Every secret the trainer holds, the webhook secret it may have registered at run time included. */
export function trainerSecrets(config: Config, playbooks: PlaybookStore): string[] {
  return [...configSecrets(config), ...(playbooks.state.webhook?.secret ? [playbooks.state.webhook.secret] : [])];
}

/** `authenticate` checks bearer tokens; the control plane's whoami (cached) by default. */
export function trainerApi(services: TrainerServices, authenticate: Authenticate = controlPlaneAuth(services.config)) {
  const allowlist = services.config.VERGE_COMMAND_ALLOWLIST;
  const v1 = new Hono<TrainerEnv>()
    .use("*", authenticated(authenticate))
    .route("/jobs", jobRoutes(services.runner, allowlist))
    .route("/playbooks", playbookRoutes(services.playbooks, services.registry, hookUrl(services.config), allowlist))
    .route("/schedules", scheduleRoutes(services.schedules, () => void services.scheduler.tick().catch(() => undefined)))
    .post("/materialize", guard(api.materialize), jsonBody(materializeSchema), async (c) => c.json(await runMaterialize(services, c.req.valid("json"))))
    .post("/batch-predictions", guard(api.batchPredictions), jsonBody(batchPredictionsSchema), async (c) => c.json(await runBatchPredictions(services, c.req.valid("json"))));
  return new Hono()
    .route("/hooks/alerts", alertHook(services.playbooks, services.registry, services.runner))
    .route("/v1", v1)
    .onError(onError);
}

function requireOnline(services: Pick<TrainerServices, "onlineStore">): OnlineStore {
  if (!services.onlineStore) throw new ApiError("unavailable", "no online store is configured: set VERGE_ONLINE_STORE (kv or upstash, as the gateways' ONLINE_STORE) and its credentials");
  return services.onlineStore;
}

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}
