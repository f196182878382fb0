// The trainer's API: training jobs, materialization and batch predictions.
import { z } from "zod";
import { nameSchema, runtimeSchema, versionNumberSchema } from "./common.ts";
import { featureSpecSchema } from "./feature-spec.ts";

/** A table in the offline store: a path under the store's root (globs allowed), Parquet or CSV. */
export const tablePathSchema = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[A-Za-z0-9_./*{},=-]+$/, "must be a relative path of letters, digits and . _ - / * { } , =")
  .refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), { message: "must stay inside the offline store (no leading / or ..)" })
  .refine((p) => /\.(parquet|csv)$/i.test(p), { message: "must end in .parquet or .csv" });

export const columnNameSchema = z.string().min(1).max(128).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a plain column name");

/** Epoch milliseconds or an ISO-8601 time. */
export const timeSchema = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })]).transform((t) => (typeof t === "number" ? t : Date.parse(t)));

export const tableDatasetSchema = z.object({
  /** Label events: one row per example with its entity keys, event time, label, and request-time features. */
  labels: z.object({
    path: tablePathSchema,
    timestamp: columnNameSchema.default("ts"),
    label: columnNameSchema.default("label"),
  }),
  /** Per feature view of the feature spec: its snapshots (entity key, time, one column per feature). */
  views: z.record(z.string().min(1).max(64), z.object({ path: tablePathSchema, timestamp: columnNameSchema.default("ts") })).default({}),
  /** Only label events at or after this time: "recent data" when retraining. */
  since: timeSchema.optional(),
  /** The latest fraction of label events by time is held out for evaluation. */
  holdout_fraction: z.number().gt(0).lt(0.9).default(0.2),
});
export type TableDataset = z.infer<typeof tableDatasetSchema>;

/**
 * Served predictions as a dataset: the features each version actually saw (as logged), joined
 * with the feedback labels of those predictions, so training and serving cannot disagree.
 */
export const logsDatasetSchema = z
  .object({
    logs: z.object({
      /** The model whose served predictions are read; the job's model when absent. */
      model: nameSchema.optional(),
      from: timeSchema,
      to: timeSchema,
      version: z.number().int().min(1).optional(),
      variant: z.string().min(1).max(64).optional(),
    }),
    holdout_fraction: z.number().gt(0).lt(0.9).default(0.2),
  })
  .refine((d) => d.logs.from < d.logs.to, { message: "logs.from must be before logs.to", path: ["logs", "from"] });
export type LogsDataset = z.infer<typeof logsDatasetSchema>;

/** A training dataset: tables in the offline store, or the model's own served logs with their labels. */
export const datasetSpecSchema = z.union([logsDatasetSchema, tableDatasetSchema]);
export type DatasetSpec = z.infer<typeof datasetSpecSchema>;

export const isLogsDataset = (d: DatasetSpec): d is LogsDataset => "logs" in d;

/** Checks run on the training set before training; a failure stops the job with its reason. */
export const validationRulesSchema = z.object({
  /** Largest share of rows a feature may be missing in (and so take its default). */
  max_missing_rate: z.number().min(0).max(1).default(0.5),
  /** Largest PSI of any feature against the previous training set of the model. */
  max_psi: z.number().positive().default(0.25),
  /** Allowed value ranges per numeric feature. */
  ranges: z.record(z.string(), z.object({ min: z.number().optional(), max: z.number().optional() })).default({}),
  /** Fewest rows to train on. */
  min_rows: z.number().int().positive().default(100),
});
export type ValidationRules = z.infer<typeof validationRulesSchema>;

export const jobIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1–64 letters, digits, '_' or '-'");
export const algorithmSchema = z.enum(["logreg", "mlp", "gbdt", "command"]);
export type AlgorithmName = z.infer<typeof algorithmSchema>;

/** A custom program: it gets the training set path and params, writes model.onnx and metrics.json. */
export const commandSpecSchema = z.object({
  argv: z.array(z.string().min(1).max(4096)).min(1).max(64),
  timeout_s: z.number().int().positive().max(7 * 24 * 3600).default(3600),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string().max(4096)).default({}),
});

/** What to do with a registered candidate: shadow it, then roll it out as an A/B split judged by the promotion rules. */
export const deployCandidateSchema = z.object({
  /** The candidate must beat production on the holdout by this much (AUC up, or RMSE down); negative tolerates a loss. */
  min_improvement: z.number().min(-1).max(1).default(0),
  /** Share of traffic mirrored to the candidate as a shadow, in basis points. */
  shadow_rate: z.number().int().min(1).max(10_000).default(10_000),
  /** How long the candidate shadows production before the A/B rollout starts. */
  shadow_s: z.number().int().min(0).max(7 * 86_400).default(600),
  /** The staged A/B rollout: candidate traffic steps in basis points ending at 10000, advanced by the promotion rules. */
  rollout: z.object({ steps: z.array(z.number().int().min(1).max(10_000)).min(1).max(10), interval_s: z.number().int().min(1).max(7 * 86_400).default(600) }).default({ steps: [1000, 5000, 10_000], interval_s: 600 }),
});
export type DeployCandidate = z.infer<typeof deployCandidateSchema>;

export const submitJobSchema = z
  .object({
    /** Client-chosen id: submitting the same id again returns the existing job. */
    id: jobIdSchema.optional(),
    model: nameSchema,
    task: z.enum(["binary_classification", "regression"]).default("binary_classification"),
    algorithm: algorithmSchema,
    dataset: datasetSpecSchema,
    feature_spec: featureSpecSchema,
    params: z.record(z.string(), z.unknown()).default({}),
    command: commandSpecSchema.optional(),
    runtime: runtimeSchema.default("edge"),
    /** For `origin` versions: the gateway origin pool that will serve the trained version. */
    pool: nameSchema.optional(),
    validation: validationRulesSchema.default(validationRulesSchema.parse({})),
    /** After registration, point the `staging` alias at the new version. */
    stage: z.boolean().default(false),
    /** After registration: shadow, then A/B rollout to production if the candidate beats it. */
    deploy: deployCandidateSchema.optional(),
    /** Free text kept with the version's lineage (e.g. the alert that asked for it). */
    reason: z.string().max(500).optional(),
  })
  .superRefine((j, ctx) => {
    if (j.algorithm === "command" && !j.command) ctx.addIssue({ code: "custom", path: ["command"], message: "algorithm \"command\" needs command.argv" });
    if (j.algorithm !== "command" && j.command) ctx.addIssue({ code: "custom", path: ["command"], message: "only algorithm \"command\" takes a command" });
    for (const [i, f] of j.feature_spec.features.entries()) {
      if (f.view && !("logs" in j.dataset) && !(f.view in j.dataset.views)) ctx.addIssue({ code: "custom", path: ["dataset", "views"], message: `feature_spec.features[${i}] reads view "${f.view}", which the dataset does not locate` });
    }
  });
export type SubmitJob = z.infer<typeof submitJobSchema>;

export const jobPhaseSchema = z.enum(["queued", "loading", "validating", "training", "evaluating", "registering", "deploying", "succeeded", "failed", "cancelled"]);
export type JobPhase = z.infer<typeof jobPhaseSchema>;

/** A job as the trainer reports it. */
export const jobViewSchema = z.object({
  id: z.string(),
  model: z.string(),
  algorithm: algorithmSchema,
  phase: jobPhaseSchema,
  /** 0..1 over the whole job. */
  progress: z.number().min(0).max(1),
  message: z.string().optional(),
  created_at: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  error: z.string().optional(),
  metrics: z.record(z.string(), z.number()).optional(),
  /** The registered version, once there is one. */
  version: z.number().int().optional(),
  staged: z.boolean().optional(),
  /** What the deploy step did: shadowed and rolling out, or held back (and why). */
  deployment: z.object({ outcome: z.enum(["rolling_out", "held"]), reason: z.string() }).optional(),
  validation: z.unknown().optional(),
  evaluation: z.unknown().optional(),
});
export type JobView = z.infer<typeof jobViewSchema>;
export const jobListSchema = z.object({ jobs: z.array(jobViewSchema) });
export const submittedJobSchema = z.object({ id: z.string(), phase: jobPhaseSchema, created: z.boolean() });
export const jobIdParamSchema = z.object({ id: jobIdSchema });

/** One server-sent event of a job's progress. */
export const jobEventSchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  phase: jobPhaseSchema,
  progress: z.number(),
  message: z.string().optional(),
});
export type JobEvent = z.infer<typeof jobEventSchema>;

export const materializeSchema = z.object({
  /** The feature views to push: where their snapshots live and which column keys the entity. */
  views: z
    .array(
      z.object({
        name: z.string().min(1).max(64),
        path: tablePathSchema,
        entity: columnNameSchema,
        timestamp: columnNameSchema.default("ts"),
        /** Feature columns to push; all but entity and timestamp when absent. */
        features: z.array(columnNameSchema).max(1024).optional(),
      }),
    )
    .min(1)
    .max(64),
  /** Ignore the stored watermark and push every entity's latest row. */
  full: z.boolean().default(false),
});
export type MaterializeRequest = z.infer<typeof materializeSchema>;

export const batchPredictionsSchema = z.object({
  model: nameSchema,
  version: versionNumberSchema,
  /** Entities to score: a table with the entity key column and request-time feature columns. */
  entities: z.object({ path: tablePathSchema, key: columnNameSchema }),
  /** Feature snapshots for the version's views, as in a training dataset (latest values are used). */
  views: z.record(z.string().min(1).max(64), z.object({ path: tablePathSchema, timestamp: columnNameSchema.default("ts") })).default({}),
});
export type BatchPredictionsRequest = z.infer<typeof batchPredictionsSchema>;

/** Response playbook for a model: which alerts start a retraining job, and what the job does. */
export const playbookSchema = z.object({
  /** Alert kinds that trigger retraining. */
  on: z.array(z.enum(["drift", "concept_drift"])).min(1).default(["drift", "concept_drift"]),
  /** The retraining job (its id and `dataset.since` are set per alert). */
  job: z.object({
    algorithm: algorithmSchema,
    task: z.enum(["binary_classification", "regression"]).default("binary_classification"),
    dataset: datasetSpecSchema,
    feature_spec: featureSpecSchema,
    params: z.record(z.string(), z.unknown()).default({}),
    command: commandSpecSchema.optional(),
    runtime: runtimeSchema.default("edge"),
  }),
  /** Train on label events from this many days before the alert ("recent data"). */
  lookback_days: z.number().positive().max(3650).default(28),
  deploy: deployCandidateSchema.default(deployCandidateSchema.parse({})),
});
export type Playbook = z.infer<typeof playbookSchema>;

export const playbookParamSchema = z.object({ model: nameSchema });
export const playbookSetSchema = z.object({ model: z.string(), playbook: playbookSchema, webhook: z.object({ id: z.string(), url: z.string() }) });
export const playbookListSchema = z.object({ playbooks: z.record(z.string(), playbookSchema) });

/** Per view: entities written to the online store, and the newest snapshot time pushed (the watermark). */
export const materializeResultSchema = z.object({ views: z.record(z.string(), z.object({ written: z.number().int(), watermark: z.number().nullable() })) });
export type MaterializeResult = z.infer<typeof materializeResultSchema>;
export const batchPredictionsResultSchema = z.object({ written: z.number().int() });
