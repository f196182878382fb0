// Drift statistics over binned distributions: a reference histogram (from training) against the
// current window's. Everything works on counts in the same bins, so it costs O(bins), not O(rows).
import jStatModule from "jstat";
import { z } from "zod";

// jStat is a CommonJS module whose export is the library object itself.
const jStat = jStatModule;

/**
 * Empty bins would make PSI infinite; each bin's share is floored at this before the log.
 * 1e-4 is small next to any bin that carries signal (a bin with 1 in 10,000 rows) and keeps a
 * single empty bin's contribution bounded (≈ share × ln(share / 1e-4)).
 */
export const PSI_EPSILON = 1e-4;

const shares = (counts: readonly number[]) => {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
};

function sameLength(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`bins differ: ${a.length} vs ${b.length}`);
}

/** Population stability index: Σ (a − e) · ln(a / e) over bins, shares floored at `epsilon`. */
export function psi(reference: readonly number[], current: readonly number[], epsilon = PSI_EPSILON): number {
  sameLength(reference, current);
  const e = shares(reference).map((x) => Math.max(x, epsilon));
  const a = shares(current).map((x) => Math.max(x, epsilon));
  return e.reduce((s, ei, i) => s + (a[i]! - ei) * Math.log(a[i]! / ei), 0);
}

/** Jensen–Shannon distance (base 2, so in [0, 1]): the square root of the JS divergence. */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  sameLength(reference, current);
  const p = shares(reference);
  const q = shares(current);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) divergence += 0.5 * p[i]! * Math.log2(p[i]! / m);
    if (q[i]! > 0) divergence += 0.5 * q[i]! * Math.log2(q[i]! / m);
  }
  return Math.sqrt(Math.max(0, divergence));
}

export interface TestResult {
  statistic: number;
  p_value: number;
}

/**
 * Chi-square test of homogeneity on a 2 × k table (reference counts vs current counts), without
 * continuity correction; bins empty in both are dropped. The p-value comes from jStat's χ² CDF.
 */
export function chiSquare(reference: readonly number[], current: readonly number[]): TestResult & { dof: number } {
  sameLength(reference, current);
  const cols = reference.map((r, i) => [r, current[i]!] as const).filter(([r, c]) => r + c > 0);
  const n1 = cols.reduce((s, [r]) => s + r, 0);
  const n2 = cols.reduce((s, [, c]) => s + c, 0);
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0 || cols.length < 2) return { statistic: 0, p_value: 1, dof: Math.max(0, cols.length - 1) };
  let statistic = 0;
  for (const [r, c] of cols) {
    const total = r + c;
    const er = (total * n1) / n;
    const ec = (total * n2) / n;
    statistic += (r - er) ** 2 / er + (c - ec) ** 2 / ec;
  }
  const dof = cols.length - 1;
  return { statistic, dof, p_value: 1 - jStat.chisquare.cdf(statistic, dof) };
}

/**
 * Two-sample Kolmogorov–Smirnov on binned data: D is the largest gap between the two empirical
 * CDFs at the bin edges (a lower bound of the unbinned D), and the p-value is the asymptotic
 * Kolmogorov distribution at λ = (√nₑ + 0.12 + 0.11/√nₑ)·D with nₑ = n₁n₂/(n₁+n₂) (Stephens'
 * small-sample correction).
 */
export function ksBinned(reference: readonly number[], current: readonly number[]): TestResult {
  sameLength(reference, current);
  const n1 = reference.reduce((s, c) => s + c, 0);
  const n2 = current.reduce((s, c) => s + c, 0);
  if (n1 === 0 || n2 === 0) return { statistic: 0, p_value: 1 };
  let c1 = 0;
  let c2 = 0;
  let d = 0;
  for (let i = 0; i < reference.length; i++) {
    c1 += reference[i]!;
    c2 += current[i]!;
    d = Math.max(d, Math.abs(c1 / n1 - c2 / n2));
  }
  const ne = (n1 * n2) / (n1 + n2);
  const lambda = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * d;
  return { statistic: d, p_value: kolmogorovSurvival(lambda) };
}

/**
 * Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}, the Kolmogorov distribution's survival function.
 * Written here because jStat has no Kolmogorov distribution; it is checked against
 * scipy.stats.kstwobign.sf in the tests.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = (k % 2 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Counts per bin for numeric values against fixed edges: bin i is [edges[i-1], edges[i]). */
export function binIndex(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value < edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo; // 0 … edges.length: below the first edge, between edges, at or above the last
}

/** The bin a value falls in under a reference histogram (categorical: its index, or "other"). */
export function binOf(h: { edges: readonly number[] } | { categories: readonly string[] }, value: unknown): number | undefined {
  if ("edges" in h) return typeof value === "number" && Number.isFinite(value) ? binIndex(h.edges, value) : undefined;
  if (value === null || value === undefined) return undefined;
  const i = h.categories.indexOf(String(value));
  return i >= 0 ? i : h.categories.length;
}

export interface DriftThresholds {
  psi_warn: number;
  psi_alert: number;
  js_warn: number;
  p_value: number;
  /** Tests are not judged below this many current samples. */
  min_samples: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { psi_warn: 0.1, psi_alert: 0.25, js_warn: 0.1, p_value: 0.05, min_samples: 100 };

/** A model's own thresholds: any subset, over the defaults. */
export const driftThresholdsSchema = z
  .object({
    psi_warn: z.number().positive(),
    psi_alert: z.number().positive(),
    js_warn: z.number().positive().max(1),
    p_value: z.number().positive().max(1),
    min_samples: z.number().int().min(1),
  })
  .partial()
  .strict();

export interface DriftAssessment {
  samples: number;
  psi: number;
  js: number;
  test: { name: "ks" | "chi_square"; statistic: number; p_value: number };
  status: "ok" | "warn" | "alert" | "insufficient_data";
  reasons: string[];
}

/** One feature's (or the prediction's) drift against its reference, with a verdict. */
export function assessDrift(
  reference: { edges: readonly number[]; counts: readonly number[] } | { categories: readonly string[]; counts: readonly number[] },
  current: readonly number[],
  t: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftAssessment {
  const samples = current.reduce((s, c) => s + c, 0);
  const p = psi(reference.counts, current);
  const js = jensenShannon(reference.counts, current);
  const test = "edges" in reference ? { name: "ks" as const, ...ksBinned(reference.counts, current) } : { name: "chi_square" as const, ...chiSquare(reference.counts, current) };
  if (samples < t.min_samples) return { samples, psi: p, js, test, status: "insufficient_data", reasons: [`${samples} of ${t.min_samples} samples`] };
  const reasons: string[] = [];
  let status: DriftAssessment["status"] = "ok";
  if (p >= t.psi_alert) {
    status = "alert";
    reasons.push(`PSI ${p.toFixed(3)} ≥ ${t.psi_alert}`);
  } else if (p >= t.psi_warn) {
    status = "warn";
    reasons.push(`PSI ${p.toFixed(3)} ≥ ${t.psi_warn}`);
  }
  if (js >= t.js_warn) {
    if (status === "ok") status = "warn";
    reasons.push(`JS distance ${js.toFixed(3)} ≥ ${t.js_warn}`);
  }
  if (test.p_value < t.p_value && p >= t.psi_warn) reasons.push(`${test.name} p = ${test.p_value.toExponential(2)} < ${t.p_value}`);
  return { samples, psi: p, js, test, status, reasons };
}
