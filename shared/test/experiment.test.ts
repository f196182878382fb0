// Experiment statistics against scripts/reference/experiment.py, named by what each reference is:
// SciPy's own routines (the SRM chi-square; the mSPRT mixture likelihood ratio integrated
// numerically) or the same formula re-typed (sample size, mSPRT closed form: typing slips only).
// Simulations check what the numbers claim: power, false positives under peeking.
import { describe, expect, it } from "vitest";
import ref from "../test-vectors/experiment-reference.json" with { type: "json" };
import { aucFromBins, msprt, sampleRatioMismatch, sampleSizePerArm, wilsonInterval } from "../src/experiment.ts";

/** Seeded uniforms (mulberry32: a plain LCG's consecutive draws are too correlated for simulation). */
function uniforms(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("experiment statistics against SciPy's own routines", () => {
  it("sample-ratio mismatch (scipy.stats.chisquare)", () => {
    for (const c of ref.srm) {
      const r = sampleRatioMismatch(c.observed, c.weights);
      expect(r.statistic).toBeCloseTo(c.statistic, 8);
      expect(r.p_value).toBeCloseTo(c.p_value, 8);
    }
    expect(sampleRatioMismatch([5300, 4700], [1, 1]).mismatch).toBe(true);
    expect(sampleRatioMismatch([5050, 4950], [1, 1]).mismatch).toBe(false);
  });
  it("mSPRT's closed form equals the mixture likelihood ratio integrated numerically (scipy.integrate.quad)", () => {
    for (const c of ref.msprt) {
      const r = msprt({ successes: c.a[0]!, n: c.a[1]! }, { successes: c.b[0]!, n: c.b[1]! }, c.tau2);
      expect(r.p_value / c.scipy_p_value_quad).toBeCloseTo(1, 9);
    }
  });
});

describe("experiment statistics against the same formulas re-typed in Python (typing slips only)", () => {
  it("sample size per arm (norm.ppf from SciPy, the formula re-typed)", () => {
    for (const c of ref.sample_size) expect(sampleSizePerArm(c)).toBe(c.n);
  });
  it("mSPRT closed form", () => {
    for (const c of ref.msprt) {
      const r = msprt({ successes: c.a[0]!, n: c.a[1]! }, { successes: c.b[0]!, n: c.b[1]! }, c.tau2);
      expect(r.effect).toBeCloseTo(c.effect, 12);
      expect(r.p_value).toBeCloseTo(c.p_value, 8);
    }
  });
});

describe("sample size, by simulation", () => {
  // Two-proportion z-tests (pooled variance) at the computed n per arm, 2,000 simulated experiments each:
  // the share that rejects has a standard error of about 0.007 at power 0.9 and 0.005 at α = 0.05.
  const experiments = (p1: number, p2: number, n: number, seed: number, R = 2000) => {
    const u = uniforms(seed);
    let rejected = 0;
    for (let r = 0; r < R; r++) {
      let x1 = 0;
      let x2 = 0;
      for (let i = 0; i < n; i++) {
        if (u() < p1) x1++;
        if (u() < p2) x2++;
      }
      const pooled = (x1 + x2) / (2 * n);
      const z = (x2 / n - x1 / n) / Math.sqrt(pooled * (1 - pooled) * (2 / n));
      if (Math.abs(z) > 1.959963984540054) rejected++;
    }
    return rejected / R;
  };

  it("reaches the power it was asked for, and no more false positives than α", () => {
    const n = sampleSizePerArm({ baseline: 0.3, mde: -0.05, alpha: 0.05, power: 0.9 });
    const power = experiments(0.3, 0.25, n, 7);
    expect(power).toBeGreaterThan(0.87);
    expect(power).toBeLessThan(0.93);
    const falsePositives = experiments(0.3, 0.3, n, 8);
    expect(falsePositives).toBeGreaterThan(0.03);
    expect(falsePositives).toBeLessThan(0.07);
  });

  it("a quarter fewer samples falls clearly short of that power", () => {
    const n = sampleSizePerArm({ baseline: 0.3, mde: -0.05, alpha: 0.05, power: 0.9 });
    expect(experiments(0.3, 0.25, Math.round(n * 0.75), 9)).toBeLessThan(0.85);
  });
});

describe("mSPRT under continuous peeking", () => {
  it("keeps the false positive rate at or below α when there is no effect", () => {
    let s = 12345;
    const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const experiments = 300;
    let rejected = 0;
    for (let e = 0; e < experiments; e++) {
      const a = { successes: 0, n: 0 };
      const b = { successes: 0, n: 0 };
      for (let step = 0; step < 40; step++) {
        for (let i = 0; i < 100; i++) {
          a.n++;
          b.n++;
          if (uniform() < 0.1) a.successes++;
          if (uniform() < 0.1) b.successes++;
        }
        // Peek after every 100 samples per arm and stop at the first rejection.
        if (msprt(a, b, 1e-4).p_value <= 0.05) {
          rejected++;
          break;
        }
      }
    }
    // α = 0.05 → at most 15 of 300 expected; allow binomial noise (sd ≈ 3.8).
    expect(rejected / experiments).toBeLessThanOrEqual(0.08);
  });

  it("detects a real effect", () => {
    expect(msprt({ successes: 1000, n: 10_000 }, { successes: 1300, n: 10_000 }, 1e-4).p_value).toBeLessThan(0.001);
  });
});

describe("AUC from binned scores", () => {
  it("is 1 for perfect separation, ½ for identical histograms, and counts ties as ½", () => {
    expect(aucFromBins([0, 0, 5], [5, 0, 0])).toBe(1);
    expect(aucFromBins([3, 3, 3], [3, 3, 3])).toBeCloseTo(0.5, 12);
    expect(aucFromBins([1, 0], [0, 1])).toBe(0);
    expect(aucFromBins([0, 1], [1, 1])).toBeCloseTo(0.75, 12);
    expect(aucFromBins([0, 0], [1, 1])).toBeNull();
  });
});

describe("Wilson score interval", () => {
  it("matches published values and stays inside [0, 1]", () => {
    // statsmodels' proportion_confint(k, n, method="wilson") at 95%.
    const mid = wilsonInterval(50, 100)!;
    expect(mid.low).toBeCloseTo(0.40383, 4);
    expect(mid.high).toBeCloseTo(0.59617, 4);
    const none = wilsonInterval(0, 10)!;
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.27753, 4);
    expect(wilsonInterval(0, 0)).toBeUndefined();
    for (const [k, n] of [[1, 3], [3, 3], [7, 1000]] as const) {
      const w = wilsonInterval(k, n)!;
      expect(w.low).toBeGreaterThanOrEqual(0);
      expect(w.high).toBeLessThanOrEqual(1);
      expect(w.low).toBeLessThanOrEqual(k / n);
      expect(w.high).toBeGreaterThanOrEqual(k / n);
    }
  });
});
