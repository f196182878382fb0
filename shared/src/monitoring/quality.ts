// Labelled quality from score histograms: accuracy, log loss, AUC, calibration for scores in
// [0, 1] (binary labels ≥ 0.5 are positives), mean absolute and root-mean-square error for any
// score. Everything comes from mergeable sums, so it costs O(bins), not O(labels).
import { aucFromBins } from "../experiment.ts";
import type { QualityRow } from "./rollup.ts";

/** Score histogram resolution: 100 bins on [0, 1]. */
export const SCORE_BINS = 100;

/** The score bin of a prediction: clamped to [0, 99]; -1 when it has no finite score. */
export function scoreBin(score: number | null | undefined): number {
  if (score === null || score === undefined || !Number.isFinite(score)) return -1;
  return Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(score * SCORE_BINS)));
}

export interface Quality {
  /** Labels joined to predictions. */
  n: number;
  positive_rate: number | null;
  accuracy: number | null;
  log_loss: number | null;
  auc: number | null;
  calibration: { score: [string, string]; n: number; observed_rate: number | null }[];
  mae: number | null;
  rmse: number | null;
  /** Second labels that disagreed with the first (the first stands). */
  conflicts: number;
}

export function qualityOf(rows: readonly QualityRow[]): Quality {
  const pos: number[] = Array(SCORE_BINS).fill(0);
  const neg: number[] = Array(SCORE_BINS).fill(0);
  let n = 0;
  let positives = 0;
  let scored = 0;
  let abs = 0;
  let sq = 0;
  let conflicts = 0;
  for (const r of rows) {
    n += r.n;
    positives += r.positives;
    conflicts += r.conflicts;
    if (r.bin < 0 || r.bin >= SCORE_BINS) continue;
    pos[r.bin]! += r.positives;
    neg[r.bin]! += r.n - r.positives;
    scored += r.n;
    abs += r.abs_error_sum;
    sq += r.sq_error_sum;
  }
  const center = (b: number) => Math.min(1 - 1e-6, Math.max(1e-6, (b + 0.5) / SCORE_BINS));
  const inBins = pos.reduce((s, p, b) => s + p + neg[b]!, 0);
  const correct = pos.reduce((s, p, b) => s + (center(b) >= 0.5 ? p : neg[b]!), 0);
  const logLoss = inBins ? -pos.reduce((s, p, b) => s + p * Math.log(center(b)) + neg[b]! * Math.log(1 - center(b)), 0) / inBins : null;
  const calibration = Array.from({ length: 10 }, (_, k) => {
    let count = 0;
    let p = 0;
    for (let b = k * 10; b < (k + 1) * 10; b++) {
      count += pos[b]! + neg[b]!;
      p += pos[b]!;
    }
    return { score: [(k / 10).toFixed(1), ((k + 1) / 10).toFixed(1)] as [string, string], n: count, observed_rate: count ? p / count : null };
  });
  return {
    n,
    positive_rate: n ? positives / n : null,
    accuracy: inBins ? correct / inBins : null,
    log_loss: logLoss,
    auc: aucFromBins(pos, neg),
    calibration,
    mae: scored ? abs / scored : null,
    rmse: scored ? Math.sqrt(sq / scored) : null,
    conflicts,
  };
}

/** The quality figures a promotion rule's `thresholds` can name: `labels`, `positive_rate`, `accuracy`, `log_loss`, `auc`, `mae`, `rmse`. */
export function qualityMetrics(q: Quality): Record<string, number> {
  const out: Record<string, number> = { labels: q.n };
  for (const name of ["positive_rate", "accuracy", "log_loss", "auc", "mae", "rmse"] as const) {
    const v = q[name];
    if (v !== null && Number.isFinite(v)) out[name] = v;
  }
  return out;
}
