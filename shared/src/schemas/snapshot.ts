// The routing snapshot: everything a gateway needs to serve, published by the control plane.
import { z } from "zod";
import { runtimeSchema, sha256Schema, taskSchema } from "./common.ts";
import { featureSpecSchema } from "./feature-spec.ts";
import { redactionSchema } from "./logging.ts";
import { precomputedSchema, tensorSpecSchema } from "./registry.ts";

export const snapshotVersionSchema = z.object({
  version: z.number().int().positive(),
  runtime: runtimeSchema,
  sha256: sha256Schema,
  size: z.number().int().nonnegative(),
  artifact_key: z.string(),
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
  feature_spec: featureSpecSchema,
  precomputed: precomputedSchema.optional(),
  /** The origin pool of an `origin` version; absent means the default pool. */
  pool: z.string().optional(),
});
export type SnapshotVersion = z.infer<typeof snapshotVersionSchema>;

export const snapshotDeploymentSchema = z.object({
  epoch: z.number().int().nonnegative(),
  /** Salt for variant bucketing; includes the epoch so `reshuffle` re-randomizes. */
  salt: z.string(),
  allocation: z.array(z.tuple([z.number().int(), z.number().int(), z.string()])),
  variants: z.array(z.object({ name: z.string(), version: z.number().int().positive() })),
  /** Each shadow samples units by its own salt, so the same units are always shadowed. */
  shadows: z.array(z.object({ version: z.number().int().positive(), rate_bp: z.number().int(), salt: z.string() })),
  fallback: z.string().optional(),
});
export type SnapshotDeployment = z.infer<typeof snapshotDeploymentSchema>;

export const snapshotModelSchema = z.object({
  name: z.string(),
  task: taskSchema,
  deployment: snapshotDeploymentSchema.nullable(),
  versions: z.record(z.string(), snapshotVersionSchema),
  /** Alias → version: with the deployment's variants and shadows, the versions a client may pin. */
  aliases: z.record(z.string(), z.number().int().positive()).optional(),
  /** The model's redaction list, applied to log records before they leave the gateway; `salt` keys the hashes. */
  logging: z.object({ redact: z.array(redactionSchema), salt: z.string() }).optional(),
});
export type SnapshotModel = z.infer<typeof snapshotModelSchema>;

export const snapshotKeySchema = z.object({
  id: z.string(),
  /** `saltedKeyHash(key_salt, sha256(key))`, hex: never the key, nor its bare sha256. */
  hash: sha256Schema,
  models: z.array(z.string()),
  rate_limit: z.number().int().positive().optional(),
});

export const snapshotSchema = z.object({
  version: z.number().int().nonnegative(),
  generated_at: z.string(),
  /** The salt every key hash in `keys` is keyed with (random per deployment, hex). */
  key_salt: z.string().regex(/^[0-9a-f]{32,128}$/),
  keys: z.array(snapshotKeySchema),
  models: z.record(z.string(), snapshotModelSchema),
});
export type Snapshot = z.infer<typeof snapshotSchema>;
