// Admin API bodies for models, versions, aliases and deployments.
import { z } from "zod";
import { nameSchema, runtimeSchema, sha256Schema, taskSchema, versionNumberSchema } from "./common.ts";
import { featureSpecSchema } from "./feature-spec.ts";

export const createModelSchema = z.object({
  name: nameSchema,
  task: taskSchema,
  description: z.string().max(2000).optional(),
});
export type CreateModel = z.infer<typeof createModelSchema>;

export const tensorSpecSchema = z.object({
  name: z.string().min(1).max(128),
  /** Shape with -1 for dynamic dimensions, e.g. [-1, 4]. */
  shape: z.array(z.number().int().min(-1)).max(8),
  datatype: z.enum(["FP32", "FP64", "INT32", "INT64", "BOOL"]).default("FP32"),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

export const lineageSchema = z.object({
  training_data: z.string().max(1024).optional(),
  training_data_sha256: sha256Schema.optional(),
  code_version: z.string().max(256).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  parent_job: z.string().max(128).optional(),
});

export const precomputedSchema = z.object({
  /** The request's `entities` key the batch predictions are stored under, e.g. `user_id`. */
  entity: z.string().min(1).max(128),
  /** Older predictions are not served; the gateway computes in real time instead. */
  max_age_s: z.number().int().positive(),
});

/** A reference histogram: numeric on fixed edges (k edges → k + 1 bins), or category counts. */
export const referenceHistogramSchema = z.union([
  z
    .object({ edges: z.array(z.number()).min(1).max(256), counts: z.array(z.number().nonnegative()).max(257) })
    .refine((h) => h.counts.length === h.edges.length + 1, { message: "counts must have one more entry than edges" })
    .refine((h) => h.edges.every((e, i) => i === 0 || e > h.edges[i - 1]!), { message: "edges must increase" }),
  z
    .object({ categories: z.array(z.string().max(256)).min(1).max(1024), counts: z.array(z.number().nonnegative()).max(1025) })
    .refine((h) => h.counts.length === h.categories.length + 1, { message: "counts must have one entry per category plus one for other" }),
]);
export type ReferenceHistogram = z.infer<typeof referenceHistogramSchema>;

/** The drift baseline stored with a version: per feature, and for the prediction (first output). */
export const driftReferenceSchema = z.object({
  features: z.record(z.string(), referenceHistogramSchema).default({}),
  prediction: referenceHistogramSchema.optional(),
});
export type DriftReference = z.infer<typeof driftReferenceSchema>;

export const versionMetadataSchema = z.object({
  runtime: runtimeSchema,
  inputs: z.array(tensorSpecSchema).min(1).max(16),
  outputs: z.array(tensorSpecSchema).min(1).max(16),
  feature_spec: featureSpecSchema,
  metrics: z.record(z.string().max(64), z.number()).default({}),
  lineage: lineageSchema.default({}),
  description: z.string().max(2000).optional(),
  /** Hybrid serving: predictions precomputed by batch inference, read from the online store. */
  precomputed: precomputedSchema.optional(),
  reference: driftReferenceSchema.optional(),
});
export type VersionMetadata = z.infer<typeof versionMetadataSchema>;

export const putAliasSchema = z.object({
  version: versionNumberSchema,
  reason: z.string().max(500).optional(),
});

const versionOrAlias = {
  version: versionNumberSchema.optional(),
  alias: nameSchema.optional(),
};
const oneOfVersionOrAlias = (v: { version?: number | undefined; alias?: string | undefined }) =>
  (v.version === undefined) !== (v.alias === undefined);

export const deploymentVariantSchema = z
  .object({ name: nameSchema, ...versionOrAlias, weight: z.number().int().min(0).max(10_000) })
  .refine(oneOfVersionOrAlias, { message: "give exactly one of version or alias", path: ["version"] });

export const deploymentShadowSchema = z
  .object({ ...versionOrAlias, rate: z.number().int().min(1).max(10_000) })
  .refine(oneOfVersionOrAlias, { message: "give exactly one of version or alias", path: ["version"] });

export const putDeploymentSchema = z
  .object({
    variants: z.array(deploymentVariantSchema).min(1).max(16),
    shadows: z.array(deploymentShadowSchema).max(8).default([]),
    mode: z.enum(["preserve", "reshuffle"]).default("preserve"),
    /** Variant that serves when the chosen one cannot (origin down, artifact refused). */
    fallback: nameSchema.optional(),
  })
  .superRefine((d, ctx) => {
    const total = d.variants.reduce((s, v) => s + v.weight, 0);
    if (total !== 10_000) ctx.addIssue({ code: "custom", path: ["variants"], message: `weights must sum to 10000 basis points, got ${total}` });
    const names = d.variants.map((v) => v.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: ["variants", i, "name"], message: `duplicate variant "${n}"` });
    });
    if (d.fallback && !names.includes(d.fallback)) ctx.addIssue({ code: "custom", path: ["fallback"], message: `unknown variant "${d.fallback}"` });
  });
export type PutDeployment = z.infer<typeof putDeploymentSchema>;
