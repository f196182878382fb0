// What monitoring answers: metrics over time, drift per feature, the experiment report, alerts,
// webhooks and the events they deliver.
import { z } from "zod";
import { nameSchema, versionNumberSchema } from "../common.ts";

/** A statistic that may be undefined for the data at hand (JSON has no NaN: it arrives as null). */
const stat = z.number().nullable();

export const windowQuerySchema = z.object({
  /** Window start and end as epoch milliseconds or ISO dates; defaults to the last hour. */
  from: z.union([z.coerce.number().int(), z.iso.datetime()]).optional(),
  to: z.union([z.coerce.number().int(), z.iso.datetime()]).optional(),
});
export const windowSchema = z.object({ from: z.string(), to: z.string() });

export const STEPS = { minute: 1, hour: 60, day: 1440 } as const;
export const stepSchema = z.enum(["minute", "hour", "day"]);
export type Step = z.infer<typeof stepSchema>;

export const metricsQuerySchema = windowQuerySchema.extend({
  /** Also return a time series at this resolution, ready for charts. */
  step: stepSchema.optional(),
});

export const latencySummarySchema = z.object({ mean: z.number(), p50: stat, p95: stat, p99: stat, max: z.number() });
export const metricsRowSchema = z.object({
  version: z.number().int(),
  variant: z.string(),
  shadow: z.boolean(),
  count: z.number().int(),
  errors: z.number().int(),
  error_rate: z.number(),
  latency_ms: latencySummarySchema,
});
export type MetricsRow = z.infer<typeof metricsRowSchema>;
export const metricsPointSchema = metricsRowSchema.extend({ t: z.string() });
export type MetricsPoint = z.infer<typeof metricsPointSchema>;
export const metricsReportSchema = z.object({
  model: z.string(),
  window: windowSchema,
  step: stepSchema.optional(),
  timeseries: z.array(metricsPointSchema).optional(),
  series: z.array(metricsRowSchema),
  total: z.number().int(),
  /**
   * Request features a version's spec does not have, and categorical values outside a feature's
   * vocabulary, counted per version and feature over the window (rows that carried them).
   */
  input_issues: z.array(z.object({ version: z.number().int(), feature: z.string(), reason: z.enum(["unknown_feature", "out_of_vocabulary"]), count: z.number().int() })),
});
export type MetricsReport = z.infer<typeof metricsReportSchema>;

export const driftQuerySchema = windowQuerySchema.extend({
  version: versionNumberSchema.optional(),
  psi_warn: z.coerce.number().positive().optional(),
  psi_alert: z.coerce.number().positive().optional(),
  js_warn: z.coerce.number().positive().optional(),
  p_value: z.coerce.number().positive().max(1).optional(),
  min_samples: z.coerce.number().int().min(1).optional(),
});

export const driftThresholdsViewSchema = z.object({ psi_warn: z.number(), psi_alert: z.number(), js_warn: z.number(), p_value: z.number(), min_samples: z.number().int() });
export const driftStatusSchema = z.enum(["ok", "warn", "alert", "insufficient_data"]);
export const featureDriftSchema = z.object({
  feature: z.string(),
  kind: z.enum(["numeric", "categorical"]),
  /** Values that took the spec's default (missing or invalid), counted apart from the bins. */
  defaulted: z.number().int(),
  /** The window's counts on the reference's bins. */
  current: z.array(z.number()),
  samples: z.number().int(),
  psi: stat,
  js: stat,
  test: z.object({ name: z.enum(["ks", "chi_square"]), statistic: stat, p_value: stat }),
  status: driftStatusSchema,
  reasons: z.array(z.string()),
});
export type FeatureDrift = z.infer<typeof featureDriftSchema>;
export const versionDriftSchema = z.object({
  version: z.number().int(),
  has_reference: z.boolean(),
  status: z.enum(["ok", "warn", "alert"]),
  alerts: z.array(z.string()),
  features: z.array(featureDriftSchema),
  prediction: featureDriftSchema.nullable(),
  /** The version's concept-drift detector (ADWIN over labelled errors): labels taken in (null for state saved before they were counted), and its current window's error rate. */
  concept: z.object({ labels: z.number().int().nullable(), window: z.number().int(), error_rate: stat }).nullable(),
});
export const driftReportSchema = z.object({ model: z.string(), window: windowSchema, thresholds: driftThresholdsViewSchema, versions: z.array(versionDriftSchema) });
export type DriftReport = z.infer<typeof driftReportSchema>;

export const experimentQuerySchema = windowQuerySchema.extend({
  /** Minimum detectable effect (absolute) for the sample-size figure and the mSPRT prior: τ² = mde². */
  mde: z.coerce.number().positive().max(0.5).default(0.01),
  alpha: z.coerce.number().positive().max(0.5).default(0.05),
  power: z.coerce.number().positive().max(0.999).default(0.8),
});

const msprtResultSchema = z.object({ effect: z.number(), p_value: z.number() });
export const experimentVariantSchema = z.object({
  name: z.string(),
  weight_bp: z.number().int(),
  samples: z.number().int(),
  errors: z.number().int(),
  error_rate: z.number(),
  latency_ms: z.object({ p50: stat, p95: stat, p99: stat }),
  labels: z.object({
    n: z.number().int(),
    positive_rate: stat,
    accuracy: stat,
    log_loss: stat,
    auc: stat,
    calibration: z.array(z.object({ score: z.array(z.string()), n: z.number().int(), observed_rate: stat })),
    /** Mean absolute and root-mean-square error of the scores against the labels. */
    mae: stat,
    rmse: stat,
    /** Second labels that disagreed with the first (the first stands). */
    conflicts: z.number().int(),
  }),
  guardrails: z.object({ error_rate: z.enum(["ok", "breached"]), p99: z.enum(["ok", "breached"]) }),
});
export type ExperimentVariant = z.infer<typeof experimentVariantSchema>;
export const experimentReportSchema = z.object({
  model: z.string(),
  window: windowSchema,
  variants: z.array(experimentVariantSchema),
  sample_ratio_mismatch: z.object({ statistic: stat, p_value: stat, mismatch: z.boolean() }),
  sequential_test: z.object({
    method: z.literal("mSPRT"),
    tau2: z.number(),
    alpha: z.number(),
    comparisons: z.array(z.object({ variant: z.string(), against: z.string(), error_rate: msprtResultSchema, positive_rate: msprtResultSchema.nullable(), significant: z.boolean() })),
  }),
  sample_size: z.object({ per_arm: z.number().nullable(), baseline: stat, mde: z.number(), alpha: z.number(), power: z.number() }),
});
export type ExperimentReport = z.infer<typeof experimentReportSchema>;

export const ALERT_KINDS = ["drift", "guardrail", "sample_ratio_mismatch", "concept_drift"] as const;
export const alertStatusSchema = z.enum(["open", "acknowledged", "resolved"]);
export const alertQuerySchema = z.object({
  status: alertStatusSchema.optional(),
  model: nameSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const alertIdParamSchema = z.object({ id: z.coerce.number().int().positive() });
export const alertSchema = z.object({
  id: z.number().int(),
  model: z.string(),
  version: z.number().int().nullable(),
  kind: z.enum(ALERT_KINDS),
  subject: z.string(),
  status: alertStatusSchema,
  details: z.record(z.string(), z.unknown()),
  opened_at: z.string(),
  last_seen_at: z.string(),
  acked_by: z.string().nullable(),
  acked_at: z.string().nullable(),
});
export type Alert = z.infer<typeof alertSchema>;
export const alertListSchema = z.object({ alerts: z.array(alertSchema) });
export const alertAckSchema = z.object({ id: z.number().int(), status: z.literal("acknowledged") });

/** The body a webhook receives (signed like origin requests: x-verge-timestamp, x-verge-signature). */
export const alertEventSchema = z.object({ event: z.literal("alert.opened"), alert: alertSchema });
export type AlertEvent = z.infer<typeof alertEventSchema>;

export const createWebhookSchema = z.object({ url: z.url({ protocol: /^https?$/ }).max(2048) });
export const webhookSchema = z.object({ id: z.string(), url: z.string(), created_at: z.string() });
export const createdWebhookSchema = z.object({ id: z.string(), url: z.string(), secret: z.string() });
export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) });
/** A webhook's delivery outbox, newest first. */
export const webhookDeliveriesSchema = z.object({
  deliveries: z.array(z.object({ alert_id: z.number().int(), status: z.enum(["pending", "delivered", "failed"]), attempts: z.number().int(), next_attempt_at: z.string().nullable(), last_error: z.string().nullable() })),
});
