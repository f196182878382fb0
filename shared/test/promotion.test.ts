import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decidePromotion, promotionRuleSchema, type VariantMetrics } from "../src/promotion.ts";

const rule = promotionRuleSchema.parse({
  min_samples: 100,
  min_duration_s: 60,
  thresholds: [{ metric: "auc", min_delta: -0.005 }],
  guardrails: { max_error_rate: 0.02, max_p99_ms: 250, min_samples: 20 },
});
const healthy: VariantMetrics = { samples: 500, errors: 1, p99_ms: 40, metrics: { auc: 0.81 } };
const baseline: VariantMetrics = { samples: 5000, errors: 5, p99_ms: 35, metrics: { auc: 0.8 } };
const input = { candidate: healthy, baseline, elapsed_s: 120, drift_alert: false };

describe("promotion decisions", () => {
  it("advances when every check passes", () => {
    expect(decidePromotion(rule, input).action).toBe("advance");
  });

  it("rolls back on a guardrail breach, before anything else", () => {
    const d = decidePromotion(rule, { ...input, candidate: { ...healthy, errors: 50 }, elapsed_s: 1 });
    expect(d).toEqual({ action: "rollback", reasons: ["guardrail: error rate 0.1000 > 0.0200"] });
    expect(decidePromotion(rule, { ...input, candidate: { ...healthy, p99_ms: 300 } }).action).toBe("rollback");
  });

  it("does not judge guardrails on too few samples", () => {
    expect(decidePromotion(rule, { ...input, candidate: { ...healthy, samples: 10, errors: 10 } }).action).toBe("hold");
  });

  it("holds for samples, duration, drift and missing or worse metrics, saying why", () => {
    expect(decidePromotion(rule, { ...input, candidate: { ...healthy, samples: 99 } }).reasons).toEqual(["99 of 100 samples"]);
    expect(decidePromotion(rule, { ...input, elapsed_s: 59 }).reasons).toEqual(["59 of 60 s in this step"]);
    expect(decidePromotion(rule, { ...input, drift_alert: true }).reasons).toEqual(["a drift alert is open"]);
    expect(decidePromotion(rule, { ...input, candidate: { ...healthy, metrics: {} } }).reasons).toEqual(["auc: not measured yet"]);
    expect(decidePromotion(rule, { ...input, candidate: { ...healthy, metrics: { auc: 0.79 } } }).action).toBe("hold");
  });

  it("never advances a candidate whose error rate breaks the guardrail", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 2000, noNaN: true }), (samples, rate, p99) => {
        const errors = Math.round(samples * rate);
        const d = decidePromotion(rule, { ...input, candidate: { samples, errors, p99_ms: p99, metrics: { auc: 0.9 } } });
        if (errors / samples > 0.02 || p99 > 250) expect(d.action).toBe("rollback");
        else expect(d.action).not.toBe("rollback");
      }),
    );
  });
});
