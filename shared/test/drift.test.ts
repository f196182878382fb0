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
  /** Seeded normal draws (Box–Muller over mulberry32). */
  function normals(seed: number) {
    let a = seed >>> 0;
    const u = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
    };
    return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  }
  /** Counts of n draws in `bins` equal bins over [−4, 4) (the tails go to the end bins). */
  const histogram = (draw: () => number, n: number, bins: number) => {
    const h = Array<number>(bins).fill(0);
    for (let i = 0; i < n; i++) h[Math.min(bins - 1, Math.max(0, Math.floor(((draw() + 4) / 8) * bins)))]!++;
    return h;
  };
  /** Counts of n draws in five bins of equal probability under N(0, 1) (every expected count large). */
  const quintiles = (draw: () => number, n: number) => {
    const h = [0, 0, 0, 0, 0];
    for (let i = 0; i < n; i++) h[binIndex([-0.8416, -0.2533, 0.2533, 0.8416], draw())]!++;
    return h;
  };
  /** Share of R experiments, 300 and 500 draws both from N(0, 1), whose p-value is at most α. */
  const rejections = (test: (draw: () => number) => number, alpha: number, seed: number, R = 2000) => {
    const draw = normals(seed);
    let rejected = 0;
    for (let r = 0; r < R; r++) if (test(draw) <= alpha) rejected++;
    return rejected / R;
  };
  const ks = (draw: () => number) => ksBinned(histogram(draw, 300, 400), histogram(draw, 500, 400)).p_value;
  const chi = (draw: () => number) => chiSquare(quintiles(draw, 300), quintiles(draw, 500)).p_value;

  // With R = 2000 the share's standard error at α = 0.05 is about 0.005.
  it("KS (Stephens' λ) rejects a true null no more often than α, and not far less", () => {
    // The two-sample KS is conservative at these sizes (D lives on a lattice): SciPy's own
    // ks_2samp rejects 3.8% at α = 0.05 on the same kind of data.
    const at5 = rejections(ks, 0.05, 11);
    expect(at5).toBeGreaterThan(0.025);
    expect(at5).toBeLessThan(0.06);
    expect(rejections(ks, 0.01, 12)).toBeLessThan(0.017);
  });

  it("chi-square rejects a true null about as often as α says", () => {
    const at5 = rejections(chi, 0.05, 13);
    expect(at5).toBeGreaterThan(0.035);
    expect(at5).toBeLessThan(0.065);
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
