// Promotion rules and the decision they make: a pure function of (rule, metrics), so the same
// decision can be tested, explained and replayed.
import { z } from "zod";
import { guardrailBreaches } from "./monitoring/guardrails.ts";

export const promotionRuleSchema = z.object({
  /** Samples the candidate needs in the current step before it can advance. */
  min_samples: z.number().int().min(0).default(500),
  /** Seconds the candidate must spend in a step before it can advance. */
  min_duration_s: z.number().int().min(0).default(600),
  /**
   * Quality thresholds against the baseline: candidate − baseline must be ≥ min_delta (or ≤ max_delta).
   * Metrics come from labelled predictions of the current step: `accuracy`, `auc`, `log_loss`,
   * `positive_rate`, `mae`, `rmse`, `labels` (see monitoring/quality.ts).
   */
  thresholds: z
    .array(
      z
        .object({ metric: z.string().min(1).max(64), min_delta: z.number().optional(), max_delta: z.number().optional() })
        .refine((t) => (t.min_delta === undefined) !== (t.max_delta === undefined), { message: "give exactly one of min_delta or max_delta" }),
    )
    .max(16)
    .default([]),
  /** Breaking a guardrail rolls the candidate back at once. */
  guardrails: z
    .object({
      max_error_rate: z.number().min(0).max(1).default(0.05),
      max_p99_ms: z.number().positive().default(1000),
      /** Guardrails are judged only once the candidate has this many samples. */
      min_samples: z.number().int().min(1).default(50),
    })
    .default({ max_error_rate: 0.05, max_p99_ms: 1000, min_samples: 50 }),
  /** Hold while a drift alert is open on the candidate. */
  block_on_drift_alert: z.boolean().default(true),
});
export type PromotionRule = z.infer<typeof promotionRuleSchema>;

export const DEFAULT_PROMOTION_RULE: PromotionRule = promotionRuleSchema.parse({});

export interface VariantMetrics {
  samples: number;
  errors: number;
  p99_ms: number | null;
  /** Quality metrics by name (accuracy, auc, log_loss…), where known. */
  metrics: Record<string, number>;
}

export interface PromotionInput {
  candidate: VariantMetrics;
  baseline: VariantMetrics | null;
  /** Seconds since the current step started. */
  elapsed_s: number;
  drift_alert: boolean;
}

export type PromotionDecision = { action: "advance" | "hold" | "rollback"; reasons: string[] };

export function decidePromotion(rule: PromotionRule, input: PromotionInput): PromotionDecision {
  const { candidate: c, baseline: b } = input;
  const breaches = guardrailBreaches(rule.guardrails, c);
  if (breaches.length) {
    return {
      action: "rollback",
      reasons: breaches.map((b) => (b.guardrail === "error_rate" ? `guardrail: error rate ${fmt(b.value)} > ${fmt(b.max)}` : `guardrail: p99 ${b.value.toFixed(1)} ms > ${b.max} ms`)),
    };
  }
  const holds: string[] = [];
  if (c.samples < rule.min_samples) holds.push(`${c.samples} of ${rule.min_samples} samples`);
  if (input.elapsed_s < rule.min_duration_s) holds.push(`${Math.floor(input.elapsed_s)} of ${rule.min_duration_s} s in this step`);
  if (rule.block_on_drift_alert && input.drift_alert) holds.push("a drift alert is open");
  for (const t of rule.thresholds) {
    const cv = c.metrics[t.metric];
    const bv = b?.metrics[t.metric];
    if (cv === undefined || bv === undefined) {
      holds.push(`${t.metric}: not measured yet`);
      continue;
    }
    const delta = cv - bv;
    if (t.min_delta !== undefined && delta < t.min_delta) holds.push(`${t.metric}: Δ ${fmt(delta)} < ${fmt(t.min_delta)}`);
    if (t.max_delta !== undefined && delta > t.max_delta) holds.push(`${t.metric}: Δ ${fmt(delta)} > ${fmt(t.max_delta)}`);
  }
  return holds.length ? { action: "hold", reasons: holds } : { action: "advance", reasons: ["all checks passed"] };
}

const fmt = (x: number) => (Math.abs(x) < 0.01 && x !== 0 ? x.toExponential(2) : x.toFixed(4));
