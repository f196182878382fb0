// One training job from data to a registered version: point-in-time training set → validation →
// training (built-in or command) → evaluation against production on the same time-based holdout →
// drift reference → registration with lineage → optional staging and deploy step. Each phase moves the job's
// progress; cancellation is checked between phases and inside training.
import * as ort from "onnxruntime-node";
import { type DriftReference, type FeatureSpec, type RawRow, type SubmitJob, type VersionMetadata } from "@verge/shared";
import { readModelIo } from "@verge/shared/onnx/reader";
import type { Algorithm, TrainingData, TrainTask } from "../algorithms/types.ts";
import { encodedColumns, trainingMatrix } from "../dataset/rows.ts";
import type { TrainingSet } from "../offline/training-set.ts";
import type { RegistryClient } from "../registry/client.ts";
import { createSession } from "../serving/models.ts";
import { runCommand } from "./command.ts";
import { commandLineage } from "./command-policy.ts";
import { deployCandidate } from "./deploy.ts";
import { JobFailure, type JobHandle, type Pipeline } from "./runner.ts";

export interface ValidationOutcome {
  ok: boolean;
  /** What failed, in words a person can act on. */
  failures: string[];
  report: unknown;
}

export interface Evaluation {
  metrics: Record<string, number>;
  detail: unknown;
}

export interface PipelineDeps {
  registry: RegistryClient;
  algorithms: Record<string, Algorithm>;
  loadTrainingSet(job: SubmitJob, signal: AbortSignal): Promise<TrainingSet>;
  validate(job: SubmitJob, set: TrainingSet, previous: DriftReference | undefined): ValidationOutcome;
  evaluate(task: TrainTask, labels: Float32Array, predictions: Float32Array): Evaluation;
  referenceHistograms(spec: FeatureSpec, rows: readonly RawRow[], predictions: Float32Array): DriftReference;
  codeVersion: string;
  /** For `command` jobs: the executables allowed, and the secrets to keep out of their reported output. */
  command: { allowlist: readonly string[]; secrets(): readonly string[] };
}

/** Fraction of the training rows (the latest by time) used for early stopping. */
const EARLY_STOPPING_FRACTION = 0.1;
/** Largest difference allowed between the trainer's predictions and its ONNX export's. */
const EXPORT_TOLERANCE = 1e-4;

export function trainingPipeline(deps: PipelineDeps): Pipeline {
  return async (job) => {
    const { spec } = job;
    const checkpoint = () => {
      if (job.signal.aborted) throw job.signal.reason;
    };
    job.phase("loading", 0.02, "building the point-in-time training set");
    const set = await deps.loadTrainingSet(spec, job.signal);
    checkpoint();

    job.phase("validating", 0.1, `validating ${set.train.rows.length} training rows`);
    await deps.registry.ensureModel(spec.model, spec.task);
    const previous = (await deps.registry.versions(spec.model))[0];
    const validation = deps.validate(spec, set, previous?.reference);
    job.store.writeFile(job.id, "validation.json", JSON.stringify(validation.report, null, 2));
    job.record({ validation: validation.report });
    if (!validation.ok) throw new JobFailure(`validation failed: ${validation.failures.join("; ")}`);
    checkpoint();

    job.phase("training", 0.15, `training ${spec.algorithm}`);
    const train = trainingMatrix(spec.feature_spec, set.train.rows);
    const holdout = trainingMatrix(spec.feature_spec, set.holdout.rows);
    const outputName = spec.task === "binary_classification" ? "probability" : "prediction";
    const trainLabels = Float32Array.from(set.train.labels);
    const holdoutLabels = Float32Array.from(set.holdout.labels);
    const trained = await fit(job, deps, { x: train.x, y: trainLabels, rows: train.rows, width: train.width }, outputName);
    checkpoint();

    job.phase("evaluating", 0.8, `evaluating on ${holdout.rows} held-out rows against production`);
    const session = await createSession(trained.onnx, "cpu");
    const run = async (x: Float32Array, rows: number, width: number, s = session.session) => {
      const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", x, [rows, width]) });
      return Float32Array.from(out[s.outputNames[0]!]!.data as Float32Array);
    };
    const candidate = await run(holdout.x, holdout.rows, holdout.width);
    const metrics: Record<string, number> = { train_rows: train.rows, holdout_rows: holdout.rows, ...prefixed("fit", trained.info) };
    if (trained.predict) {
      const own = trained.predict(holdout.x, holdout.rows);
      const diff = maxAbsDiff(own, candidate);
      metrics.onnx_max_abs_diff = diff;
      if (diff > EXPORT_TOLERANCE) throw new JobFailure(`export check failed: the ONNX model differs from the trained model by ${diff} (> ${EXPORT_TOLERANCE})`);
    }
    const evaluation = deps.evaluate(spec.task, holdoutLabels, candidate);
    Object.assign(metrics, evaluation.metrics);
    const production = await evaluateProduction(deps, spec, set.holdout.rows, holdoutLabels, run);
    if (production) Object.assign(metrics, prefixed("production", production.evaluation.metrics), { production_version: production.version });
    const trainPredictions = await run(train.x, train.rows, train.width);
    const reference = deps.referenceHistograms(spec.feature_spec, set.train.rows, trainPredictions);
    const evaluationReport = { holdout_rows: holdout.rows, candidate: evaluation, production: production ? { version: production.version, ...production.evaluation } : null };
    job.store.writeFile(job.id, "evaluation.json", JSON.stringify(evaluationReport, null, 2));
    job.store.writeFile(job.id, "model.onnx", trained.onnx);
    job.record({ metrics, evaluation: evaluationReport });
    checkpoint();

    job.phase("registering", 0.92, "registering the version");
    const metadata: VersionMetadata = {
      runtime: spec.runtime,
      inputs: [{ name: spec.feature_spec.input, shape: [-1, train.width], datatype: "FP32" }],
      outputs: [{ name: outputName, shape: [-1, 1], datatype: "FP32" }],
      feature_spec: spec.feature_spec,
      metrics: Object.fromEntries(Object.entries(metrics).filter(([k, v]) => k.length <= 64 && Number.isFinite(v))),
      lineage: {
        training_data: set.reference.slice(0, 1024),
        training_data_sha256: set.sha256,
        code_version: deps.codeVersion,
        params: { algorithm: spec.algorithm, ...spec.params, ...(spec.command ? { command: commandLineage(spec.command) } : {}) },
        parent_job: job.id,
      },
      description: `${spec.algorithm} trained by job ${job.id}${spec.reason ? `: ${spec.reason}` : ""}`.slice(0, 2000),
      reference,
      ...(spec.pool ? { pool: spec.pool } : {}),
    };
    const registered = await deps.registry.register(spec.model, trained.onnx, metadata);
    job.record({ version: registered.version });
    if (spec.stage) {
      await deps.registry.setAlias(spec.model, "staging", registered.version, `trained by job ${job.id}`);
      job.record({ staged: true });
    }
    if (spec.deploy) await deployCandidate(job, deps.registry, spec.deploy, registered.version, metrics);
  };
}

interface Trained {
  onnx: Uint8Array;
  /** The trainer's own predictions (built-in algorithms), to check the export against. */
  predict?: (x: Float32Array, rows: number) => Float32Array;
  info: Record<string, number>;
}

async function fit(job: JobHandle, deps: PipelineDeps, data: TrainingData, outputName: string): Promise<Trained> {
  const { spec } = job;
  const progress = (f: number, message?: string) => job.progress(0.15 + 0.65 * Math.min(1, Math.max(0, f)), message);
  if (spec.algorithm === "command") {
    const out = await runCommand({ dir: job.dir, command: spec.command!, params: spec.params, columns: encodedColumns(spec.feature_spec), ...data, signal: job.signal, progress, ...deps.command });
    checkCommandModel(out.onnx, data.width);
    return { onnx: out.onnx, info: out.metrics };
  }
  const algorithm = deps.algorithms[spec.algorithm]!;
  const parsed = algorithm.params.safeParse(spec.params);
  if (!parsed.success) throw new JobFailure(`params: ${parsed.error.issues.map((i) => `params.${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const cut = Math.floor(data.rows * (1 - EARLY_STOPPING_FRACTION));
  const fit = slice(data, 0, cut);
  const validation = slice(data, cut, data.rows);
  const model = await algorithm.train(fit, parsed.data, spec.task, { signal: job.signal, progress, ...(validation.rows > 0 ? { validation } : {}) });
  return { onnx: model.toOnnx(spec.feature_spec.input, outputName), predict: (x, rows) => model.predict(x, rows), info: model.info };
}

/** A custom program's model must take the spec's input and give one [-1, 1] output. */
function checkCommandModel(onnx: Uint8Array, width: number): void {
  let io;
  try {
    io = readModelIo(onnx);
  } catch (err) {
    throw new JobFailure(`command: model.onnx is not a readable ONNX model (${(err as Error).message})`);
  }
  const input = io.inputs[0];
  if (io.inputs.length !== 1 || !input || input.shape.length !== 2 || (input.shape[1] !== -1 && input.shape[1] !== width)) {
    throw new JobFailure(`command: model.onnx must take one FP32 input of shape [-1, ${width}], it takes ${JSON.stringify(io.inputs)}`);
  }
}

async function evaluateProduction(
  deps: PipelineDeps,
  spec: SubmitJob,
  rows: readonly RawRow[],
  labels: Float32Array,
  run: (x: Float32Array, rows: number, width: number, session: ort.InferenceSession) => Promise<Float32Array>,
): Promise<{ version: number; evaluation: Evaluation } | undefined> {
  const version = await deps.registry.alias(spec.model, "production");
  if (version === undefined) return undefined;
  const meta = await deps.registry.version(spec.model, version);
  if (!meta) return undefined;
  const { session } = await createSession(await deps.registry.artifact(spec.model, version), "cpu");
  const m = trainingMatrix(meta.feature_spec, rows);
  return { version, evaluation: deps.evaluate(spec.task, labels, await run(m.x, m.rows, m.width, session)) };
}

function slice(d: TrainingData, from: number, to: number): TrainingData {
  return { x: d.x.subarray(from * d.width, to * d.width), y: d.y.subarray(from, to), rows: to - from, width: d.width };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}_${k}`, v]));
}
