// Evaluation metrics against scripts/reference/metrics.py (→ shared/test-vectors/metrics.json):
// AUC from SciPy's own Mann–Whitney U; log loss, accuracy, ECE, RMSE and MAE from their
// definitions written again in NumPy (those catch slips in the definitions, not more).
import { describe, expect, it } from "vitest";
import reference from "../../shared/test-vectors/metrics.json" with { type: "json" };
import { seededRandom } from "../src/algorithms/common.ts";
import { evaluate } from "../src/evaluate/evaluate.ts";
import { accuracy, auc, calibration, LOG_LOSS_EPSILON, logLoss, mae, rmse, rocAuc, type Calibration } from "../src/evaluate/metrics.ts";

describe("metrics: AUC against SciPy's Mann–Whitney U, the others against their definitions in NumPy", () => {
  it("uses the documented clipping epsilon", () => expect(reference.epsilon).toBe(LOG_LOSS_EPSILON));

  for (const [i, c] of reference.cases.entries()) {
    it(`case ${i} (${c.labels.length} rows)`, () => {
      expect(auc(c.labels, c.scores)).toBeCloseTo(c.auc, 12);
      expect(logLoss(c.labels, c.scores)).toBeCloseTo(c.log_loss, 10);
      expect(accuracy(c.labels, c.scores)).toBeCloseTo(c.accuracy, 12);
      expect(calibration(c.labels, c.scores).ece).toBeCloseTo(c.ece, 10);
      expect(rmse(c.labels, c.scores)).toBeCloseTo(c.rmse, 12);
      expect(mae(c.labels, c.scores)).toBeCloseTo(c.mae, 12);
    });
  }
});

describe("other metrics", () => {
  it("AUC is NaN with one class only, and rocAuc is the same function", () => {
    expect(auc([1, 1], [0.2, 0.3])).toBeNaN();
    expect(rocAuc).toBe(auc);
  });

  it("AUC counts a tie between a positive and a negative as one half", () => {
    expect(auc([1, 0], [0.4, 0.4])).toBe(0.5);
    expect(auc([1, 0, 1, 0], [0.9, 0.4, 0.4, 0.1])).toBe(0.875);
  });

  it("log loss of a confident miss is bounded by the clipping", () => {
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(LOG_LOSS_EPSILON), 6);
    expect(logLoss([0, 1], [0, 1])).toBeLessThan(1e-14);
  });

  it("accuracy counts p >= 0.5 as positive; RMSE and MAE", () => {
    expect(accuracy([1, 0, 1, 0], [0.5, 0.49, 0.2, 0.9])).toBe(0.5);
    expect(rmse([0, 0, 0, 0], [1, -1, 1, -1])).toBe(1);
    expect(mae([1, 2, 3], [2, 2, 5])).toBe(1);
  });

  it("a perfectly calibrated set has a small expected calibration error; a biased one does not", () => {
    const rng = seededRandom(3);
    const n = 100_000;
    const p = Float64Array.from({ length: n }, () => rng.uniform());
    const y = p.map((q) => (rng.uniform() < q ? 1 : 0));
    const cal = calibration(y, p);
    expect(cal.bins).toHaveLength(10);
    expect(cal.bins.reduce((s, b) => s + b.count, 0)).toBe(n);
    for (const b of cal.bins) expect(Math.abs(b.mean_predicted - b.observed_rate)).toBeLessThan(0.02);
    expect(cal.ece).toBeLessThan(0.01);
    expect(calibration(y, p.map((q) => Math.min(1, q + 0.1))).ece).toBeGreaterThan(0.08);
  });

  it("puts p = 1 in the last bin and leaves empty bins NaN", () => {
    const cal = calibration([1, 0], [1, 0.05]);
    expect(cal.bins[9]).toMatchObject({ lower: 0.9, upper: 1, count: 1, mean_predicted: 1, observed_rate: 1 });
    expect(cal.bins[0]!.count).toBe(1);
    expect(cal.bins[5]!.mean_predicted).toBeNaN();
    expect(cal.ece).toBeCloseTo(0.025, 12); // half the rows, each 0.05 off
  });

  it("takes a number of bins", () => {
    const cal = calibration([0, 1, 1], [0.1, 0.6, 0.9], 2);
    expect(cal.bins.map((b) => b.count)).toEqual([1, 2]);
    expect(cal.bins[1]!.upper).toBe(1);
  });
});

describe("evaluate", () => {
  it("binary: AUC, log loss, accuracy and ECE, with the calibration table as detail", () => {
    const labels = Float32Array.from([0, 1, 1, 0]);
    const p = Float32Array.from([0.2, 0.7, 0.4, 0.1]);
    const { metrics, detail } = evaluate("binary_classification", labels, p);
    expect(Object.keys(metrics).sort()).toEqual(["accuracy", "auc", "ece", "log_loss"]);
    expect(metrics).toMatchObject({ auc: 1, accuracy: 0.75 });
    expect((detail as Calibration).bins).toHaveLength(10);
    expect((detail as Calibration).ece).toBe(metrics.ece);
  });

  it("regression: RMSE and MAE", () => {
    expect(evaluate("regression", Float32Array.from([0, 1]), Float32Array.from([0, 2]))).toEqual({ metrics: { rmse: Math.sqrt(0.5), mae: 0.5 }, detail: {} });
  });

  it("rejects mismatched lengths", () => {
    expect(() => evaluate("regression", new Float32Array(2), new Float32Array(3))).toThrow(RangeError);
  });
});
