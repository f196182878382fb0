// The gateway's public predict API.
import { z } from "zod";
import { entityMapSchema, featureMapSchema } from "./common.ts";

export const LIMITS = {
  /** Bytes of request body the gateway reads before answering 413. */
  maxBodyBytes: 256 * 1024,
  maxInstances: 256,
  maxUnitLength: 256,
  maxRequestIdLength: 128,
} as const;

export const unitSchema = z.string().min(1).max(LIMITS.maxUnitLength, `must be at most ${LIMITS.maxUnitLength} characters`);
export const requestIdSchema = z
  .string()
  .min(1)
  .max(LIMITS.maxRequestIdLength)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

export const instanceSchema = z.object({
  entities: entityMapSchema.optional(),
  features: featureMapSchema.optional(),
});

export const predictRequestSchema = z
  .object({
    unit: unitSchema.optional(),
    entities: entityMapSchema.optional(),
    features: featureMapSchema.optional(),
    instances: z.array(instanceSchema).min(1).max(LIMITS.maxInstances, `must hold at most ${LIMITS.maxInstances} instances`).optional(),
    request_id: requestIdSchema.optional(),
  })
  .strict()
  // Top-level entities are shared by every instance (a user scoring many items); features are not.
  .refine((r) => !(r.instances && r.features), {
    message: "give either instances or top-level features, not both",
    path: ["instances"],
  });
export type PredictRequest = z.infer<typeof predictRequestSchema>;

export const outputValueSchema = z.union([z.number(), z.array(z.number())]);
export const outputsSchema = z.record(z.string(), outputValueSchema);

export const degradedSchema = z.object({
  feature: z.string(),
  reason: z.enum(["missing", "stale", "store_unavailable", "deadline", "invalid"]),
});
export type Degraded = z.infer<typeof degradedSchema>;

/**
 * Input the model never saw: a feature name the version's spec does not have, or a categorical
 * value outside the feature's vocabulary (it encodes as all zeros). Served anyway, but reported,
 * since these are how integration bugs and drift show up.
 */
export const ignoredSchema = z.object({
  feature: z.string(),
  reason: z.enum(["unknown_feature", "out_of_vocabulary"]),
});
export type Ignored = z.infer<typeof ignoredSchema>;
/** At most this many names are reported per row and reason (the rest are counted by the first). */
export const MAX_REPORTED_NAMES = 16;

export const predictResponseSchema = z.object({
  request_id: z.string(),
  model: z.string(),
  version: z.number().int(),
  variant: z.string(),
  /** `unit` when routed by the unit (sticky), `request_id` when no unit was given (not sticky). */
  routed_by: z.enum(["unit", "request_id"]),
  outputs: z.union([outputsSchema, z.array(outputsSchema)]),
  degraded: z.array(degradedSchema).optional(),
  ignored: z.array(ignoredSchema).optional(),
  /** For hybrid versions: whether precomputed (batch) predictions or real-time inference answered. */
  source: z.enum(["precomputed", "realtime"]).optional(),
  /** Present when the routed variant could not serve and the deployment's fallback did. */
  fallback: z.object({ from: z.string(), reason: z.string() }).optional(),
});
export type PredictResponse = z.infer<typeof predictResponseSchema>;

export const rankRequestSchema = z
  .object({
    unit: unitSchema.optional(),
    request_id: requestIdSchema.optional(),
    /** Entities shared by every candidate (the user the list is for). */
    entities: entityMapSchema.optional(),
    candidates: z
      .array(z.object({ id: z.string().min(1).max(256), features: featureMapSchema.optional(), entities: entityMapSchema.optional() }).strict())
      .min(1)
      .max(LIMITS.maxInstances, `must hold at most ${LIMITS.maxInstances} candidates`)
      .refine((c) => new Set(c.map((x) => x.id)).size === c.length, { message: "candidate ids must be unique" }),
  })
  .strict();
export type RankRequest = z.infer<typeof rankRequestSchema>;
