// The trainer's own API for origin operators (jobs, materialization, batch predictions), behind
// one bearer token, and the services it runs on: the offline store, the job runner, the registry.
import { execFileSync } from "node:child_process";
import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import * as ort from "onnxruntime-node";
import { ApiError, batchPredictionsSchema, isLogsDataset, materializeSchema, type OnlineStore, type TableDataset } from "@verge/shared";
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
import { loadLogsTrainingSet } from "./offline/log-dataset.ts";
import { loadTrainingSet } from "./offline/training-set.ts";
import { batchPredictions } from "./materialize/batch-predictions.ts";
import { materialize } from "./materialize/materialize.ts";
import { createSession } from "./serving/models.ts";
import { alertHook, playbookRoutes, PlaybookStore } from "./playbook/playbook.ts";
import { registryClient, type RegistryClient } from "./registry/client.ts";
import { referenceHistograms } from "./validation/reference.ts";
import { validateTrainingSet } from "./validation/validate.ts";

export interface TrainerServices {
  runner: JobRunner;
  playbooks: PlaybookStore;
  registry: RegistryClient;
  onlineStore: OnlineStore | undefined;
  config: Config;
}

export async function trainerServices(config: Config, options: { onlineStore?: OnlineStore | undefined; fetcher?: typeof fetch } = {}): Promise<TrainerServices> {
  const onlineStore = options.onlineStore ?? (config.VERGE_ONLINE_STORE === "upstash" ? upstashStore({ url: config.UPSTASH_REDIS_REST_URL!, token: config.UPSTASH_REDIS_REST_TOKEN! }) : undefined);
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
  });
  // A job that stopped while registering may have registered: its version carries the job's id.
  const recover = async (record: { view: { id: string; model: string; phase: string } }) => {
    if (record.view.phase !== "registering") return undefined;
    const found = (await registry.versions(record.view.model)).find((v) => v.lineage?.parent_job === record.view.id);
    return found ? { phase: "succeeded" as const, version: found.version } : undefined;
  };
  const runner = new JobRunner(new JobStore(config.VERGE_TRAINER_STATE), pipeline, config.VERGE_JOB_CONCURRENCY, recover);
  await runner.start();
  return { runner, registry, onlineStore, config, playbooks: new PlaybookStore(config.VERGE_TRAINER_STATE) };
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
    .post("/v1/materialize", describe(api.materialize), jsonBody(materializeSchema), async (c) => {
      const online = requireOnline(services);
      const request = c.req.valid("json");
      return c.json(await withOfflineStore(offlineStoreOptions(services.config), (offline) => materialize(offline, online, request, services.config.VERGE_TRAINER_STATE)));
    })
    .post("/v1/batch-predictions", describe(api.batchPredictions), jsonBody(batchPredictionsSchema), async (c) => {
      const online = requireOnline(services);
      const request = c.req.valid("json");
      const version = await services.registry.version(request.model, request.version);
      if (!version) throw new ApiError("not_found", `model: ${request.model} has no version ${request.version}`);
      const { session } = await createSession(await services.registry.artifact(request.model, request.version), "cpu");
      const run = async (x: Float32Array, rows: number, width: number) => {
        const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, [rows, width]) });
        return Float32Array.from(out[session.outputNames[0]!]!.data as Float32Array);
      };
      const result = await withOfflineStore(offlineStoreOptions(services.config), (offline) => batchPredictions(offline, online, request, { model: request.model, ...version }, run));
      return c.json(result);
    })
    .onError(onError);
}

function requireOnline(services: TrainerServices): OnlineStore {
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
