// The metrics a training job records for its task, computed on the holdout rows.
import type { TrainTask } from "../algorithms/types.ts";
import { accuracy, auc, calibration, logLoss, mae, rmse } from "./metrics.ts";

type Values = ArrayLike<number>;

export interface Evaluation {
  metrics: Record<string, number>;
  /** Binary: the calibration table (bins and ECE); regression: nothing yet. */
  detail: unknown;
}

/**
 * Scores predictions against labels: `auc`, `log_loss`, `accuracy` and `ece` for a binary task
 * (predictions are probabilities of the positive class), `rmse` and `mae` for regression.
 *
 * @example
 * evaluate("binary_classification", labels, probabilities).metrics.auc;
 */
export function evaluate(task: TrainTask, labels: Values, predictions: Values): Evaluation {
  if (labels.length !== predictions.length) throw new RangeError(`${labels.length} labels but ${predictions.length} predictions`);
  if (task === "regression") return { metrics: { rmse: rmse(labels, predictions), mae: mae(labels, predictions) }, detail: {} };
  const cal = calibration(labels, predictions);
  return {
    metrics: { auc: auc(labels, predictions), log_loss: logLoss(labels, predictions), accuracy: accuracy(labels, predictions), ece: cal.ece },
    detail: cal,
  };
}
