// Evaluation metrics as pure functions over predictions and labels: ranking (AUC), probabilistic
// (log loss, calibration), thresholded (accuracy) and regression (RMSE, MAE) quality.

/** Probabilities are clipped to [ε, 1 − ε] before the logarithm, so one confident miss costs at most −ln ε ≈ 34.5. */
export const LOG_LOSS_EPSILON = 1e-15;
export const CALIBRATION_BINS = 10;

type Values = ArrayLike<number>;

/**
 * Exact area under the ROC curve: the Mann–Whitney U of the positives' scores over n₁·n₀, with
 * tied scores given their average rank (a tie between a positive and a negative counts one half).
 * NaN when either class is absent.
 */
export function auc(labels: Values, scores: Values): number {
  const n = labels.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const rank = (i + j + 2) / 2; // ranks are 1-based; the group shares the mean of i+1…j+1
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]!]! > 0.5) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The same as `auc`, under the name earlier callers import. */
export const rocAuc = auc;

/** Mean binary cross-entropy in nats, with probabilities clipped by `LOG_LOSS_EPSILON`. */
export function logLoss(labels: Values, probabilities: Values): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, probabilities[i]!));
    sum -= labels[i]! > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Share of rows whose class at threshold 0.5 (p >= 0.5 is positive) matches the label. */
export function accuracy(labels: Values, probabilities: Values): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (probabilities[i]! >= 0.5 === labels[i]! > 0.5) right++;
  return right / labels.length;
}

export function rmse(targets: Values, predictions: Values): number {
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += (predictions[i]! - targets[i]!) ** 2;
  return Math.sqrt(sum / targets.length);
}

export function mae(targets: Values, predictions: Values): number {
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += Math.abs(predictions[i]! - targets[i]!);
  return sum / targets.length;
}

export interface CalibrationBin {
  /** [lower, upper) of predicted probability; the last bin includes 1. */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability and observed positive rate in the bin; NaN when empty. */
  mean_predicted: number;
  observed_rate: number;
}

export interface Calibration {
  bins: CalibrationBin[];
  /** Expected calibration error: Σ (countᵦ / n) · |predictedᵦ − observedᵦ| over non-empty bins. */
  ece: number;
}

/** Reliability over equal-width probability bins. */
export function calibration(labels: Values, probabilities: Values, binCount = CALIBRATION_BINS): Calibration {
  const count = new Float64Array(binCount);
  const predicted = new Float64Array(binCount);
  const observed = new Float64Array(binCount);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i]!;
    const b = Math.min(binCount - 1, Math.max(0, Math.floor(p * binCount)));
    count[b]!++;
    predicted[b]! += p;
    observed[b]! += labels[i]! > 0.5 ? 1 : 0;
  }
  let ece = 0;
  const bins = Array.from(count, (c, b) => {
    const bin = { lower: b / binCount, upper: (b + 1) / binCount, count: c, mean_predicted: predicted[b]! / c, observed_rate: observed[b]! / c };
    if (c > 0) ece += (c / labels.length) * Math.abs(bin.mean_predicted - bin.observed_rate);
    return bin;
  });
  return { bins, ece };
}

// `evaluate` lives in evaluate.ts; re-exported for the modules that import it from here.
export { evaluate } from "./evaluate.ts";
