// Drift statistics against reference values from scripts/reference/drift.py
// (→ shared/test-vectors/drift-reference.json). Two kinds, named as such: values from SciPy's own
// routines, which check the statistics; and the same formulas re-typed in NumPy, which only catch
// typing slips. The p-values' meaning is checked by simulation below.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import reference from "../test-vectors/drift-reference.json" with { type: "json" };
import { binIndex, chiSquare, jensenShannon, kolmogorovSurvival, ksBinned, psi, PSI_EPSILON } from "../src/drift.ts";

describe("drift statistics against SciPy's own routines", () => {
  it("uses the documented epsilon", () => expect(reference.epsilon).toBe(PSI_EPSILON));

  for (const [i, c] of reference.cases.entries()) {
    it(`case ${i}: Jensen–Shannon, chi-square, PSI as relative entropy both ways, and the KS test on the samples themselves`, () => {
      expect(jensenShannon(c.reference, c.current)).toBeCloseTo(c.js, 10);
      const chi = chiSquare(c.reference, c.current);
      expect(chi.statistic).toBeCloseTo(c.chi2.statistic, 8);
      expect(chi.dof).toBe(c.chi2.dof);
      expect(chi.p_value).toBeCloseTo(c.chi2.p_value, 8);
      expect(psi(c.reference, c.current)).toBeCloseTo(c.scipy.psi_rel_entr, 10);
      const ks = ksBinned(c.reference, c.current);
      expect(ks.statistic).toBeCloseTo(c.scipy.ks_statistic, 12);
      // Stephens' approximation against SciPy's exact two-sample p-value: close where it matters,
      // and both vanishingly small where the distributions are far apart.
      if (c.scipy.ks_p_exact > 1e-6) expect(Math.abs(ks.p_value - c.scipy.ks_p_exact)).toBeLessThan(0.01);
      else expect(ks.p_value).toBeLessThan(1e-6);
    });
  }
});

describe("drift statistics against the same formulas re-typed in NumPy (typing slips only)", () => {
  for (const [i, c] of reference.cases.entries()) {
    it(`case ${i}: PSI, the binned KS statistic, and its p-value with Stephens' λ (SciPy's Kolmogorov distribution)`, () => {
      expect(psi(c.reference, c.current)).toBeCloseTo(c.psi, 10);
      const ks = ksBinned(c.reference, c.current);
      expect(ks.statistic).toBeCloseTo(c.ks.statistic, 12);
      expect(ks.p_value).toBeCloseTo(c.ks.p_value, 8);
    });
  }
});

describe("drift p-values, by simulation", () => {
  /** Seeded normal draws (Box–Muller over a 32-bit LCG). */
  function normals(seed: number) {
    let s = seed >>> 0;
    const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
    return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  }
  const histogram = (draw: () => number, n: number, bins: number) => {
    const h = Array<number>(bins).fill(0);
    for (let i = 0; i < n; i++) h[Math.min(bins - 1, Math.max(0, Math.floor(((draw() + 4) / 8) * bins)))]!++;
    return h;
  };
  /** Share of R experiments, both samples from N(0, 1), whose p-value is at most α. */
  const rejections = (test: (a: number[], b: number[]) => number, bins: number, alpha: number, R = 2000) => {
    const draw = normals(20261118 + bins);
    let rejected = 0;
    for (let r = 0; r < R; r++) if (test(histogram(draw, 300, bins), histogram(draw, 500, bins)) <= alpha) rejected++;
    return rejected / R;
  };

  // With R = 2000 the share's standard error at α = 0.05 is about 0.005: ±0.02 is four of them.
  it("KS (Stephens' λ) rejects a true null about as often as α says, on finely binned data", () => {
    expect(rejections((a, b) => ksBinned(a, b).p_value, 400, 0.05)).toBeGreaterThan(0.03);
    expect(rejections((a, b) => ksBinned(a, b).p_value, 400, 0.05)).toBeLessThan(0.07);
    expect(rejections((a, b) => ksBinned(a, b).p_value, 400, 0.01)).toBeLessThan(0.02);
  });

  it("chi-square rejects a true null about as often as α says", () => {
    const share = rejections((a, b) => chiSquare(a, b).p_value, 8, 0.05);
    expect(share).toBeGreaterThan(0.03);
    expect(share).toBeLessThan(0.07);
  });

  it("KS finds a shift of a quarter standard deviation in most experiments of this size", () => {
    const a = normals(1);
    const b = normals(2);
    let found = 0;
    for (let r = 0; r < 500; r++) if (ksBinned(histogram(a, 300, 400), histogram(() => b() + 0.25, 500, 400)).p_value <= 0.05) found++;
    expect(found / 500).toBeGreaterThan(0.5);
  });
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
