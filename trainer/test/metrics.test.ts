// Evaluation metrics against reference values computed independently with NumPy and SciPy
// (scripts/reference/metrics.py → shared/test-vectors/metrics.json).
import { describe, expect, it } from "vitest";
import reference from "../../shared/test-vectors/metrics.json" with { type: "json" };
import { seededRandom } from "../src/algorithms/common.ts";
import { accuracy, calibration, evaluate, LOG_LOSS_EPSILON, logLoss, mae, rmse, rocAuc } from "../src/evaluate/metrics.ts";

describe("AUC and log loss match SciPy", () => {
  it("uses the documented clipping epsilon", () => expect(reference.epsilon).toBe(LOG_LOSS_EPSILON));

  for (const [i, c] of reference.cases.entries()) {
    it(`case ${i} (${c.labels.length} rows)`, () => {
      expect(rocAuc(c.labels, c.scores)).toBeCloseTo(c.auc, 12);
      expect(logLoss(c.labels, c.scores)).toBeCloseTo(c.log_loss, 10);
    });
  }
});

describe("other metrics", () => {
  it("AUC is NaN with one class only", () => expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN());

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
    for (const b of cal.bins) expect(Math.abs(b.predicted - b.observed)).toBeLessThan(0.02);
    expect(cal.ece).toBeLessThan(0.01);
    expect(calibration(y, p.map((q) => Math.min(1, q + 0.1))).ece).toBeGreaterThan(0.08);
  });

  it("puts p = 1 in the last bin and leaves empty bins NaN", () => {
    const cal = calibration([1, 0], [1, 0.05]);
    expect(cal.bins[9]!.count).toBe(1);
    expect(cal.bins[0]!.count).toBe(1);
    expect(cal.bins[5]!.predicted).toBeNaN();
    expect(cal.ece).toBeCloseTo(0.025, 12); // half the rows, each 0.05 off
  });

  it("evaluate picks the task's metrics", () => {
    expect(Object.keys(evaluate("binary_classification", [0, 1], [0.2, 0.7]).metrics).sort()).toEqual(["accuracy", "auc", "ece", "log_loss", "rows"]);
    expect(evaluate("regression", [0, 1], [0, 2]).metrics).toMatchObject({ mae: 0.5, rows: 2 });
  });
});
