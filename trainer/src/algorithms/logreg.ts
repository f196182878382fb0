// Logistic regression (binary) or linear regression (regression) with an L2 penalty, fitted by
// Newton's method with a backtracking line search on standardized features; the scaling is folded
// back into the exported weights, so the model takes raw features.
import { logisticRegressionModel, mlpModel } from "@verge/shared/onnx/writer";
import { z } from "zod";
import { meanLoss, Pacer, sigmoid, standardization } from "./common.ts";
import type { Algorithm, TrainedModel, TrainTask } from "./types.ts";

export const logregParams = z
  .strictObject({
    /** Penalty on the mean loss: `mean(loss) + l2/2 · ‖w‖²`, weights on standardized features, intercept free. */
    l2: z.number().min(0).max(1e6).default(1e-4),
    max_iter: z.number().int().min(1).max(1000).default(100),
    /** Stops when half the squared Newton decrement (the expected decrease of the objective) is below this. */
    tol: z.number().positive().max(1).default(1e-10),
  })
  .prefault({});
export type LogregParams = z.infer<typeof logregParams>;

export const logreg: Algorithm<LogregParams> = {
  name: "logreg",
  params: logregParams,
  async train(data, params, task, ctx) {
    const pace = new Pacer(ctx);
    const binary = task === "binary_classification";
    const { rows, width, x, y } = data;
    const { mean, scale } = await standardization(data, pace);
    const dim = width + 1; // θ = [intercept, w…]
    const theta = new Float64Array(dim);
    if (binary) {
      const rate = Math.min(1 - 1e-6, Math.max(1e-6, average(y)));
      theta[0] = Math.log(rate / (1 - rate));
    } else theta[0] = average(y);
    const z = new Float64Array(dim);
    const row = (i: number) => {
      z[0] = 1;
      for (let j = 0; j < width; j++) z[j + 1] = (x[i * width + j]! - mean[j]!) / scale[j]!;
      return z;
    };
    const scoresOf = async (t: Float64Array) => {
      const s = new Float64Array(rows);
      for (let i = 0; i < rows; i++) {
        const r = row(i);
        let v = 0;
        for (let j = 0; j < dim; j++) v += t[j]! * r[j]!;
        s[i] = v;
        if ((i & 0xffff) === 0xffff) await pace.yieldIfDue();
      }
      return s;
    };
    const objective = (t: Float64Array, s: Float64Array) => {
      let penalty = 0;
      for (let j = 1; j < dim; j++) penalty += t[j]! ** 2;
      return meanLoss(s, y, binary) * (binary ? 1 : 0.5) + (params.l2 / 2) * penalty;
    };

    let scores = await scoresOf(theta);
    let loss = objective(theta, scores);
    let iterations = 0;
    let converged = false;
    for (; iterations < params.max_iter && !converged; iterations++) {
      const grad = new Float64Array(dim);
      const hess = new Float64Array(dim * dim);
      for (let i = 0; i < rows; i++) {
        const p = binary ? sigmoid(scores[i]!) : scores[i]!;
        const g = p - y[i]!;
        const h = binary ? Math.max(p * (1 - p), 1e-12) : 1;
        const r = row(i);
        for (let a = 0; a < dim; a++) {
          grad[a]! += g * r[a]!;
          const hr = h * r[a]!;
          for (let b = 0; b <= a; b++) hess[a * dim + b]! += hr * r[b]!;
        }
        if ((i & 4095) === 4095) await pace.yieldIfDue();
      }
      for (let a = 0; a < dim; a++) {
        grad[a] = grad[a]! / rows + (a > 0 ? params.l2 * theta[a]! : 0);
        for (let b = 0; b <= a; b++) hess[a * dim + b] = hess[a * dim + b]! / rows + (a === b ? (a > 0 ? params.l2 : 0) + 1e-12 : 0);
      }
      const step = choleskySolve(hess, grad, dim);
      let decrement = 0;
      for (let a = 0; a < dim; a++) decrement += grad[a]! * step[a]!;
      if (decrement / 2 < params.tol) {
        converged = true;
        break;
      }
      let t = 1;
      for (let k = 0; k < 30; k++, t /= 2) {
        const next = theta.map((v, a) => v - t * step[a]!);
        const nextScores = await scoresOf(next);
        const nextLoss = objective(next, nextScores);
        if (nextLoss <= loss - 1e-4 * t * decrement || k === 29) {
          theta.set(next);
          scores = nextScores;
          loss = nextLoss;
          break;
        }
      }
      await pace.tick((iterations + 1) / params.max_iter, `iteration ${iterations + 1}, loss ${loss.toFixed(6)}`);
    }
    ctx.progress(1, `done after ${iterations} iterations`);

    // Fold standardization back: w·(x − μ)/σ + b = (w/σ)·x + (b − Σ w μ/σ).
    const weights = new Float32Array(width);
    let bias = theta[0]!;
    for (let j = 0; j < width; j++) {
      weights[j] = theta[j + 1]! / scale[j]!;
      bias -= (theta[j + 1]! * mean[j]!) / scale[j]!;
    }
    return linearModel(task, weights, Math.fround(bias), { iterations, converged: converged ? 1 : 0, train_loss: loss });
  },
};

/** A fitted linear model: predicts in double precision from the float32 weights it exports. */
function linearModel(task: TrainTask, weights: Float32Array, bias: number, info: Record<string, number>): TrainedModel {
  const binary = task === "binary_classification";
  return {
    task,
    info,
    predict(x, rows) {
      const width = weights.length;
      const out = new Float32Array(rows);
      for (let i = 0; i < rows; i++) {
        let s = bias;
        for (let j = 0; j < width; j++) s += weights[j]! * x[i * width + j]!;
        out[i] = binary ? sigmoid(s) : s;
      }
      return out;
    },
    toOnnx(inputName, outputName) {
      return binary
        ? logisticRegressionModel(weights, bias, { inputName, outputName })
        : mlpModel([{ weights, bias: [bias] }], "none", { inputName, outputName });
    },
  };
}

function average(y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]!;
  return s / Math.max(1, y.length);
}

/** Solves A·s = b for symmetric positive definite A (lower triangle filled), by Cholesky. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j * n + j]!;
    }
  }
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * v[k]!;
    v[i] = s / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = v[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * v[k]!;
    v[i] = s / l[i * n + i]!;
  }
  return v;
}
