// The GBDT benchmark model, trained by the project's own trainer (Node only: the ORT worker is
// handed its bytes).
import { algorithms, parseParams } from "../trainer/src/algorithms/index.ts";
import { seededRandom } from "../trainer/src/algorithms/common.ts";
import type { BenchModel } from "./models.ts";

/** A 100-tree GBDT (depth ≤ 6) from the trainer, on 20,000 seeded rows of 20 features. */
export async function gbdtModel(): Promise<BenchModel> {
  const rows = 20_000;
  const width = 20;
  const rng = seededRandom(3);
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let logit = 0;
    for (let j = 0; j < width; j++) logit += (x[i * width + j] = rng.normal()) * (j < 10 ? 0.5 : 0);
    logit += x[i * width]! > 0.5 ? 1 : 0;
    y[i] = rng.uniform() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  const gbdt = algorithms.gbdt;
  // No validation set, so no early stopping: exactly 100 trees.
  const model = await gbdt.train({ x, y, rows, width }, parseParams(gbdt, { n_trees: 100 }), "binary_classification", {
    signal: new AbortController().signal,
    progress: () => {},
  });
  return { label: `GBDT ${model.info.trees ?? 100} trees (depth ≤ 6, ${model.info.leaves ?? "?"} leaves), batch 64`, bytes: model.toOnnx("input", "probability"), batch: 64, width };
}
