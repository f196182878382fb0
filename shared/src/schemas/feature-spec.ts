// What a model version takes as input: which features, from where, with which defaults.
import { z } from "zod";

const featureBase = {
  // `__proto__` is the one name JSON tooling (zod's records included) drops from objects, so a
  // feature by that name could never be sent; every other name, `constructor` too, is served.
  name: z.string().min(1).max(128).refine((n) => n !== "__proto__", "must not be __proto__ (JSON objects cannot carry that key reliably)"),
  /** Online-store feature view to read from; absent means the value comes with the request. */
  view: z.string().min(1).max(64).optional(),
};

export const featureSchema = z.discriminatedUnion("type", [
  z.object({ ...featureBase, type: z.literal("number"), default: z.number() }),
  z.object({ ...featureBase, type: z.literal("boolean"), default: z.boolean() }),
  z.object({
    ...featureBase,
    type: z.literal("categorical"),
    /** One-hot encoded in this order; a value outside it encodes as all zeros. */
    vocabulary: z.array(z.string().max(256)).min(1).max(1024),
    default: z.string().max(256),
  }),
]);
export type Feature = z.infer<typeof featureSchema>;

export const featureViewSchema = z.object({
  name: z.string().min(1).max(64),
  /** The request's `entities` key whose value identifies the row, e.g. `user_id`. */
  entity: z.string().min(1).max(128),
  /** Values older than this count as missing. */
  max_age_s: z.number().int().positive().optional(),
  /**
   * Each gateway isolate may keep a row it read (or found missing) for this long before reading
   * the store again: a change in the store reaches predictions within `cache_s`. Off by default.
   */
  cache_s: z.number().int().positive().max(3600).optional(),
});
export type FeatureView = z.infer<typeof featureViewSchema>;

export const featureSpecSchema = z
  .object({
    /** Name of the model's float32 input tensor of shape [batch, width]. */
    input: z.string().min(1).max(128).default("input"),
    features: z.array(featureSchema).min(1).max(1024),
    views: z.array(featureViewSchema).max(64).default([]),
  })
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.features.forEach((f, i) => {
      if (names.has(f.name)) ctx.addIssue({ code: "custom", path: ["features", i, "name"], message: `duplicate feature "${f.name}"` });
      names.add(f.name);
      if (f.view && !spec.views.some((v) => v.name === f.view)) {
        ctx.addIssue({ code: "custom", path: ["features", i, "view"], message: `unknown feature view "${f.view}"` });
      }
    });
  });
export type FeatureSpec = z.infer<typeof featureSpecSchema>;
