// Drift statistics against reference values computed independently with NumPy and SciPy
// (scripts/reference/drift.py → shared/test-vectors/drift-reference.json).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import reference from "../test-vectors/drift-reference.json" with { type: "json" };
import { binIndex, chiSquare, jensenShannon, kolmogorovSurvival, ksBinned, psi, PSI_EPSILON } from "../src/drift.ts";

describe("drift statistics match SciPy", () => {
  it("uses the documented epsilon", () => expect(reference.epsilon).toBe(PSI_EPSILON));

  for (const [i, c] of reference.cases.entries()) {
    it(`case ${i}: PSI, Jensen–Shannon, chi-square and KS`, () => {
      expect(psi(c.reference, c.current)).toBeCloseTo(c.psi, 10);
      expect(jensenShannon(c.reference, c.current)).toBeCloseTo(c.js, 10);
      const chi = chiSquare(c.reference, c.current);
      expect(chi.statistic).toBeCloseTo(c.chi2.statistic, 8);
      expect(chi.dof).toBe(c.chi2.dof);
      expect(chi.p_value).toBeCloseTo(c.chi2.p_value, 8);
      const ks = ksBinned(c.reference, c.current);
      expect(ks.statistic).toBeCloseTo(c.ks.statistic, 12);
      expect(ks.p_value).toBeCloseTo(c.ks.p_value, 8);
    });
  }
});

describe("drift statistics' properties", () => {
  const hist = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 2, maxLength: 20 }).filter((h) => h.some((x) => x > 0));

  it("are zero (p = 1) for identical distributions, symmetric where they should be, and bounded", () => {
    fc.assert(
      fc.property(hist, fc.integer({ min: 1, max: 5 }), (h, k) => {
        const scaled = h.map((x) => x * k);
        expect(psi(h, scaled)).toBeCloseTo(0, 12);
        expect(jensenShannon(h, scaled)).toBeCloseTo(0, 6);
        expect(ksBinned(h, scaled).statistic).toBeCloseTo(0, 12);
        expect(chiSquare(h, scaled).p_value).toBeCloseTo(1, 6);
      }),
    );
    fc.assert(
      fc.property(hist.chain((h) => fc.tuple(fc.constant(h), fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: h.length, maxLength: h.length }).filter((x) => x.some((v) => v > 0)))), ([a, b]) => {
        expect(psi(a, b)).toBeGreaterThanOrEqual(-1e-12);
        expect(psi(a, b)).toBeCloseTo(psi(b, a), 9);
        const js = jensenShannon(a, b);
        expect(js).toBeGreaterThanOrEqual(0);
        expect(js).toBeLessThanOrEqual(1 + 1e-12);
        expect(js).toBeCloseTo(jensenShannon(b, a), 12);
        const p = ksBinned(a, b).p_value;
        expect(p >= 0 && p <= 1).toBe(true);
      }),
    );
  });

  it("evaluates the Kolmogorov survival function at textbook points", () => {
    // Q(1.36) ≈ 0.05 and Q(1.63) ≈ 0.01 are the classic critical values.
    expect(kolmogorovSurvival(1.358)).toBeCloseTo(0.05, 3);
    expect(kolmogorovSurvival(1.628)).toBeCloseTo(0.01, 3);
    expect(kolmogorovSurvival(0)).toBe(1);
  });

  it("bins values against fixed edges", () => {
    const edges = [0, 10, 20];
    expect([-5, 0, 9.99, 10, 19, 20, 1e9].map((v) => binIndex(edges, v))).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });
});
