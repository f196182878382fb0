// Experiment statistics for deployments with several variants: how many samples a test needs,
// whether assignment matches the allocation (sample-ratio mismatch), and a sequential test that
// stays valid however often it is looked at (mSPRT). All work from cumulative counts (rollups).
import jStatModule from "jstat";

// jStat is a CommonJS module whose export is the library object itself.
const jStat = jStatModule;

export interface SampleSizeInput {
  /** Baseline rate of the metric (e.g. conversion), in (0, 1). */
  baseline: number;
  /** Minimum detectable effect, absolute (0.01 = one percentage point). */
  mde: number;
  alpha?: number;
  power?: number;
}

/** Samples per arm for a two-sided two-proportion z-test (pooled variance under H0). */
export function sampleSizePerArm({ baseline, mde, alpha = 0.05, power = 0.8 }: SampleSizeInput): number {
  const p1 = baseline;
  const p2 = baseline + mde;
  if (!(p1 > 0 && p1 < 1 && p2 > 0 && p2 < 1 && mde !== 0)) throw new RangeError("baseline and baseline + mde must lie in (0, 1), mde ≠ 0");
  const za = jStat.normal.inv(1 - alpha / 2, 0, 1);
  const zb = jStat.normal.inv(power, 0, 1);
  const pbar = (p1 + p2) / 2;
  const n = (za * Math.sqrt(2 * pbar * (1 - pbar)) + zb * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / mde ** 2;
  return Math.ceil(n);
}

/** Sample-ratio mismatch: χ² goodness of fit of assignment counts to the allocation's weights. */
export function sampleRatioMismatch(observed: readonly number[], weights: readonly number[]): { statistic: number; p_value: number; mismatch: boolean } {
  const total = observed.reduce((s, x) => s + x, 0);
  const wsum = weights.reduce((s, x) => s + x, 0);
  if (total === 0 || observed.length < 2) return { statistic: 0, p_value: 1, mismatch: false };
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = (total * weights[i]!) / wsum;
    if (expected > 0) statistic += (observed[i]! - expected) ** 2 / expected;
  }
  const p = 1 - jStat.chisquare.cdf(statistic, observed.length - 1);
  // A strict threshold: SRM means the experiment's plumbing is broken, so false alarms are costly.
  return { statistic, p_value: p, mismatch: p < 0.001 };
}

export interface Arm {
  successes: number;
  n: number;
}

/**
 * Mixture sequential probability ratio test (Johari et al., "Always valid inference", 2017) for
 * the difference of two proportions, with a normal mixing distribution of variance τ².
 * Returns the always-valid p-value 1/Λ (capped at 1): rejecting when it is ≤ α keeps the false
 * positive rate ≤ α under continuous peeking. Chosen over alpha spending because it needs no
 * planned horizon or look schedule, and over CUSUM because it yields a p-value and works from
 * the cumulative counts rollups already hold.
 */
export function msprt(a: Arm, b: Arm, tau2: number): { effect: number; p_value: number } {
  if (a.n === 0 || b.n === 0) return { effect: 0, p_value: 1 };
  const pa = a.successes / a.n;
  const pb = b.successes / b.n;
  const effect = pb - pa;
  const v = (pa * (1 - pa)) / a.n + (pb * (1 - pb)) / b.n;
  if (v <= 0) return { effect, p_value: 1 };
  const logLambda = 0.5 * Math.log(v / (v + tau2)) + (effect * effect * tau2) / (2 * v * (v + tau2));
  return { effect, p_value: Math.min(1, Math.exp(-logLambda)) };
}

/** Area under the ROC curve from score histograms of positives and negatives (ties count ½). */
export function aucFromBins(positives: readonly number[], negatives: readonly number[]): number | null {
  const P = positives.reduce((s, x) => s + x, 0);
  const N = negatives.reduce((s, x) => s + x, 0);
  if (P === 0 || N === 0) return null;
  let below = 0;
  let area = 0;
  for (let i = 0; i < positives.length; i++) {
    area += positives[i]! * (below + negatives[i]! / 2);
    below += negatives[i]!;
  }
  return area / (P * N);
}

/**
 * Wilson score interval for a proportion k/n at confidence 1 − α (default 95%): unlike the
 * normal approximation it stays inside [0, 1] and behaves at small n and rates near 0 or 1,
 * which error rates usually are. `undefined` for n = 0.
 */
export function wilsonInterval(k: number, n: number, alpha = 0.05): { low: number; high: number } | undefined {
  if (n <= 0) return undefined;
  const z = jStat.normal.inv(1 - alpha / 2, 0, 1);
  const p = k / n;
  const z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}
