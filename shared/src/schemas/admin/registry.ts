// What the registry answers: models, versions with lineage, aliases and their history,
// deployments, promotions, rollbacks, promotion rules and staged rollouts.
import { z } from "zod";
import { nameSchema, taskSchema, versionNumberSchema } from "../common.ts";
import { promotionRuleSchema } from "../../promotion.ts";
import { deploymentShadowSchema, deploymentVariantSchema, versionMetadataSchema } from "../registry.ts";

export const modelParamSchema = z.object({ model: nameSchema });
export const versionParamSchema = modelParamSchema.extend({ version: versionNumberSchema });
export const aliasParamSchema = modelParamSchema.extend({ alias: nameSchema });

export const modelSchema = z.object({ name: z.string(), task: taskSchema, description: z.string().nullable(), created_at: z.string(), created_by: z.string() });
export type Model = z.infer<typeof modelSchema>;
export const modelListSchema = z.object({ models: z.array(modelSchema) });

/** A registered version: its metadata (with lineage) as uploaded, plus what the registry adds. */
export const versionViewSchema = versionMetadataSchema.extend({
  version: z.number().int().positive(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  created_at: z.string(),
  created_by: z.string(),
});
export type VersionView = z.infer<typeof versionViewSchema>;
export const versionListSchema = z.object({ versions: z.array(versionViewSchema) });
export const uploadedVersionSchema = z.object({ version: z.number().int().positive(), sha256: z.string(), size: z.number().int().nonnegative() });
export type UploadedVersion = z.infer<typeof uploadedVersionSchema>;

export const aliasMovedSchema = z.object({ alias: z.string(), version: z.number().int(), previous: z.number().int().nullable() });
export const aliasListSchema = z.object({ aliases: z.array(z.object({ alias: z.string(), version: z.number().int(), updated_at: z.string() })) });
export const aliasEventSchema = z.object({
  kind: z.enum(["set", "rollback"]),
  from: z.number().int().nullable(),
  to: z.number().int(),
  actor: z.string(),
  reason: z.string().nullable(),
  at: z.string(),
});
export type AliasEvent = z.infer<typeof aliasEventSchema>;
export const aliasHistorySchema = z.object({ alias: z.string(), history: z.array(aliasEventSchema) });

/** The stored deployment: the request as given, its bucket allocation, and what it resolves to now. */
export const deploymentViewSchema = z.object({
  variants: z.array(deploymentVariantSchema),
  shadows: z.array(deploymentShadowSchema),
  mode: z.enum(["preserve", "reshuffle"]),
  fallback: z.string().optional(),
  epoch: z.number().int(),
  revision: z.number().int(),
  updated_at: z.string(),
  allocation: z.array(z.tuple([z.number().int(), z.number().int(), z.string()])),
  resolved: z.object({
    variants: z.array(z.object({ name: z.string(), version: z.number().int() })),
    shadows: z.array(z.object({ version: z.number().int(), rate_bp: z.number().int() })),
  }),
});
export type DeploymentView = z.infer<typeof deploymentViewSchema>;

export const rolloutPlanSchema = z.object({
  /** Candidate traffic per step in basis points, increasing, ending at 10000. */
  steps: z
    .array(z.number().int().min(1).max(10_000))
    .min(1)
    .max(10)
    .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]!), { message: "steps must increase" })
    .refine((s) => s.at(-1) === 10_000, { message: "the last step must be 10000 (all traffic)" }),
  interval_s: z.number().int().min(1).max(7 * 86_400).default(600),
});
export type RolloutPlan = z.infer<typeof rolloutPlanSchema>;

export const promoteSchema = z.object({
  version: versionNumberSchema,
  alias: nameSchema.default("production"),
  reason: z.string().max(500).optional(),
  /** Staged rollout: traffic steps for the candidate, advanced by the promotion rules. */
  plan: rolloutPlanSchema.optional(),
});
export type Promote = z.input<typeof promoteSchema>;

export const rollbackSchema = z.object({
  alias: nameSchema.default("production"),
  reason: z.string().max(500).optional(),
});
export type Rollback = z.input<typeof rollbackSchema>;

export const promotionDecisionSchema = z.object({ action: z.enum(["advance", "hold", "rollback"]), reasons: z.array(z.string()) });

export const rolloutSchema = z.object({
  id: z.number().int(),
  alias: z.string(),
  candidate: z.number().int(),
  baseline: z.number().int().nullable(),
  steps: z.array(z.number().int()),
  interval_s: z.number().int(),
  step: z.number().int(),
  weight_bp: z.number().int().optional(),
  status: z.enum(["running", "completed", "rolled_back", "cancelled"]),
  step_started_at: z.string(),
  /** Why the promotion rules did what they did last. */
  last_decision: promotionDecisionSchema.nullable(),
  reason: z.string().nullable(),
  actor: z.string(),
  created_at: z.string(),
});
export type Rollout = z.infer<typeof rolloutSchema>;
export const rolloutListSchema = z.object({ rollouts: z.array(rolloutSchema) });
export const rolloutEvaluationSchema = z.object({ decision: promotionDecisionSchema.extend({ applied: z.string() }), rollout: rolloutSchema });

export const promoteResultSchema = z.union([
  z.object({ status: z.literal("rolling_out"), rollout: rolloutSchema }),
  z.object({ status: z.literal("promoted"), alias: z.string(), version: z.number().int(), previous: z.number().int().nullable() }),
]);
export const rollbackResultSchema = z.object({ status: z.literal("rolled_back"), alias: z.string(), version: z.number().int(), previous: z.number().int() });

export const promotionRuleViewSchema = promotionRuleSchema.extend({ default: z.boolean() });
