// Gradient-boosted trees on histograms (in the manner of LightGBM): logloss from the log-odds of
// the base rate for binary tasks, squared error from the mean for regression, early stopping on
// the validation rows. Exported as one ONNX TreeEnsembleRegressor whose float32 thresholds and
// leaves are exactly the ones `predict` walks.
import { treeEnsembleModel, type FlatTree } from "@verge/shared/onnx/trees";
import { z } from "zod";
import { meanLoss, Pacer, sigmoid } from "./common.ts";
import { binFeatures, growTree, leafValue } from "./histogram-tree.ts";
import type { Algorithm, TrainedModel, TrainTask } from "./types.ts";

export const gbdtParams = z
  .strictObject({
    n_trees: z.number().int().min(1).max(10_000).default(100),
    learning_rate: z.number().positive().max(1).default(0.1),
    max_depth: z.number().int().min(1).max(32).default(6),
    max_leaves: z.number().int().min(2).max(4096).default(31),
    min_samples_leaf: z.number().int().min(1).default(20),
    /** L2 penalty on leaf values (LightGBM's `lambda_l2`). */
    l2: z.number().min(0).default(1),
    max_bins: z.number().int().min(2).max(255).default(255),
    /** Trees without a better validation loss before stopping (needs validation rows). */
    early_stopping_rounds: z.number().int().min(1).default(10),
  })
  .prefault({});
export type GbdtParams = z.infer<typeof gbdtParams>;

export const gbdt: Algorithm<GbdtParams> = {
  name: "gbdt",
  params: gbdtParams,
  async train(data, params, task, ctx) {
    const pace = new Pacer(ctx);
    const binary = task === "binary_classification";
    const { rows, width, y } = data;
    await pace.tick(0, "binning features");
    const binned = await binFeatures(data, params.max_bins, pace);
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += y[i]!;
    mean /= Math.max(1, rows);
    const rate = Math.min(1 - 1e-6, Math.max(1e-6, mean));
    const base = Math.fround(binary ? Math.log(rate / (1 - rate)) : mean);

    const scores = new Float64Array(rows).fill(base);
    const grad = new Float64Array(rows);
    const hess = new Float64Array(rows);
    const order = new Uint32Array(rows);
    const val = ctx.validation && ctx.validation.rows > 0 ? ctx.validation : undefined;
    const valScores = new Float64Array(val?.rows ?? 0).fill(base);
    const trees: FlatTree[] = [];
    let best = { loss: Infinity, trees: 0 };
    const options = { maxDepth: params.max_depth, maxLeaves: params.max_leaves, minSamplesLeaf: params.min_samples_leaf, l2: params.l2, learningRate: params.learning_rate };

    for (let t = 0; t < params.n_trees; t++) {
      for (let i = 0; i < rows; i++) {
        if (binary) {
          const p = sigmoid(scores[i]!);
          grad[i] = p - y[i]!;
          hess[i] = Math.max(p * (1 - p), 1e-16);
        } else {
          grad[i] = scores[i]! - y[i]!;
          hess[i] = 1;
        }
      }
      const tree = await growTree(binned, width, grad, hess, scores, order, options, pace);
      trees.push(tree);
      let message = `tree ${t + 1}`;
      if (val) {
        for (let i = 0; i < val.rows; i++) valScores[i]! += leafValue(tree, val.x, i * width);
        const loss = meanLoss(valScores, val.y, binary);
        message += `, validation loss ${loss.toFixed(5)}`;
        if (loss < best.loss - 1e-9) best = { loss, trees: t + 1 };
        else if (t + 1 - best.trees >= params.early_stopping_rounds) {
          await pace.tick(1, `${message}; stopping early, best ${best.trees} trees`);
          break;
        }
      }
      await pace.tick((t + 1) / params.n_trees, message);
    }
    const kept = val ? trees.slice(0, best.trees) : trees;
    ctx.progress(1, `done: ${kept.length} trees`);
    return treeModel(task, kept, base, width, {
      trees: kept.length,
      trees_grown: trees.length,
      leaves: kept.reduce((n, t) => n + t.feature.length - (t.feature.length >> 1), 0),
      train_loss: meanLoss(scores, y, binary),
      ...(val ? { validation_loss: best.loss } : {}),
    });
  },
};

function treeModel(task: TrainTask, trees: FlatTree[], base: number, width: number, info: Record<string, number>): TrainedModel {
  const binary = task === "binary_classification";
  return {
    task,
    info,
    predict(x, rows) {
      const out = new Float32Array(rows);
      for (let i = 0; i < rows; i++) {
        // Float32 sums in tree order, then the base value: the order onnxruntime adds them in.
        let s = 0;
        for (const tree of trees) s = Math.fround(s + leafValue(tree, x, i * width));
        const v = Math.fround(s + base);
        out[i] = binary ? sigmoid(v) : v;
      }
      return out;
    },
    toOnnx(inputName, outputName) {
      return treeEnsembleModel(trees, { width, baseValue: base, outputTransform: binary ? "logistic" : "none", inputName, outputName });
    },
  };
}
