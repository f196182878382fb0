// What every built-in algorithm is: typed arrays in, a model that predicts exactly as its ONNX
// export does out. The jobs pipeline trains through this interface only.
import type { z } from "zod";

export type TrainTask = "binary_classification" | "regression";

/** Row-major features (float32, as the gateway feeds the model) and one target per row. */
export interface TrainingData {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  width: number;
}

export interface TrainContext {
  /** Aborted when the job is cancelled: stop at the next epoch/tree and throw `signal.reason`. */
  signal: AbortSignal;
  /** Fraction of training done, 0..1, with an optional line for people. Cheap; call often. */
  progress(fraction: number, message?: string): void;
  /** Held-out rows for early stopping (MLP, GBDT); never the evaluation holdout. */
  validation?: TrainingData;
}

export interface TrainedModel {
  task: TrainTask;
  /** Probability of the positive class (binary) or the value (regression), one per row: the same numbers the ONNX export computes. */
  predict(x: Float32Array, rows: number): Float32Array;
  /** ONNX bytes: input `inputName` FP32 [-1, width], one output FP32 [-1, 1] named `outputName`. */
  toOnnx(inputName: string, outputName: string): Uint8Array;
  /** Facts about the fit for lineage and metrics (epochs run, trees, final loss…). */
  info: Record<string, number>;
}

export interface Algorithm<P = unknown> {
  name: "logreg" | "mlp" | "gbdt";
  /** Validates and defaults the job's `params`; errors name the field. */
  params: z.ZodType<P>;
  train(data: TrainingData, params: P, task: TrainTask, ctx: TrainContext): Promise<TrainedModel>;
}
