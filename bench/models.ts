// The benchmark models, built the same way in workerd and in Node from fixed pseudo-random weights.
import { logisticRegressionModel, mlpModel } from "../shared/src/onnx/writer.ts";

function weights(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  });
}

export function benchModels() {
  const lrWidth = 20;
  const mlp = [64, 256, 256, 1];
  const layers = mlp.slice(1).map((out, i) => ({ weights: weights(mlp[i]! * out, i + 1), bias: weights(out, 100 + i) }));
  return {
    lr_b1: { bytes: logisticRegressionModel(weights(lrWidth, 7), 0.1), batch: 1, width: lrWidth, input: Float32Array.from(weights(lrWidth, 9)) },
    mlp_b64: { bytes: mlpModel(layers, "sigmoid"), batch: 64, width: 64, input: Float32Array.from(weights(64 * 64, 11)) },
  };
}
