// Small building blocks shared by the public, admin and internal schemas.
import { z } from "zod";

/** Model and alias names: URL-safe, short, lower case. */
export const nameSchema = z
  .string()
  .min(1, "must not be empty")
  .max(64, "must be at most 64 characters")
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");

export const versionNumberSchema = z.coerce.number().int().min(1, "must be a version number ≥ 1");

/** A scalar feature value as a client sends it. Nested values are refused. */
export const featureValueSchema = z.union([z.number(), z.string().max(1024), z.boolean(), z.null()]);
export type FeatureValue = z.infer<typeof featureValueSchema>;

export const featureMapSchema = z.record(z.string().min(1).max(128), featureValueSchema);

export const entityMapSchema = z.record(z.string().min(1).max(128), z.string().min(1).max(256));

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, "must be a lower-case hex sha256");

export const runtimeSchema = z.enum(["edge", "origin"]);
export type Runtime = z.infer<typeof runtimeSchema>;

export const taskSchema = z.enum(["binary_classification", "regression", "multiclass"]);
export type Task = z.infer<typeof taskSchema>;
