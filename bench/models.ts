// The benchmark models: logistic regression and an MLP written by the project's ONNX writer from
// fixed pseudo-random weights, and a 100-tree GBDT trained by the project's own trainer on seeded
// synthetic rows. Inputs are deterministic, so workerd and Node run identical bytes on identical data.
import { logisticRegressionModel, mlpModel } from "../shared/src/onnx/writer.ts";

export function weights(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  });
}

export interface BenchModel {
  label: string;
  bytes: Uint8Array;
  batch: number;
  width: number;
}

/** The input a model is timed on: `batch × width` values in [-1, 1). */
export const benchInput = (batch: number, width: number, seed = 11) => Float32Array.from(weights(batch * width, seed), (v) => v * 10);

/** The writer-built models (cheap: the ORT worker may build them too). */
export function writtenModels(): Record<"lr_b1" | "mlp_b64", BenchModel> {
  const mlp = [64, 256, 256, 1];
  const layers = mlp.slice(1).map((out, i) => ({ weights: weights(mlp[i]! * out, i + 1), bias: weights(out, 100 + i) }));
  return {
    lr_b1: { label: "logistic regression (20 features), batch 1", bytes: logisticRegressionModel(weights(20, 7), 0.1), batch: 1, width: 20 },
    mlp_b64: { label: "MLP 64-256-256-1, batch 64", bytes: mlpModel(layers, "sigmoid"), batch: 64, width: 64 },
  };
}
