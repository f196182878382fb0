// The built-in algorithms: each learns a known model about as well as the truth allows, predicts
// exactly what its ONNX export computes in onnxruntime-node and onnxruntime-web, can be cancelled,
// and rejects bad params by name.
import * as ortNode from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "@verge/shared";
import { onnx } from "@verge/shared/onnx/proto";
import { treeEnsembleModel, type FlatTree } from "@verge/shared/onnx/trees";
import { algorithms, parseParams, type AlgorithmName } from "../src/algorithms/index.ts";
import { seededRandom } from "../src/algorithms/common.ts";
import type { TrainContext, TrainedModel, TrainingData, TrainTask } from "../src/algorithms/types.ts";
import { auc, rmse } from "../src/evaluate/metrics.ts";

type Ort = typeof ortNode;
/** onnxruntime-web's default entry, or its wasm-only one where the default does not load in Node. */
const ortWeb: Ort = await import("onnxruntime-web").catch(() => import("onnxruntime-web/wasm")) as unknown as Ort;
ortWeb.env.wasm.numThreads = 1;

const WIDTH = 10;
const NOISE_SD = 0.5;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** A known model: the logit (binary) or mean (regression) of a row. */
type Truth = (x: Float32Array, at: number) => number;

const weights = (() => {
  const rng = seededRandom(42);
  return Array.from({ length: WIDTH }, () => rng.normal() * 0.7);
})();
const linear: Truth = (x, at) => weights.reduce((s, w, j) => s + w * x[at + j]!, -0.5);
// A step, an interaction of thresholds and two linear terms: trees should find the first two,
// which a linear model cannot.
const nonlinear: Truth = (x, at) => 1.5 * (x[at]! > 0.3 ? 1 : -1) + (x[at + 1]! < -0.5 && x[at + 2]! > 0 ? 2 : 0) + 0.8 * x[at + 3]! - 0.3 * x[at + 5]!;
// A smooth curve and a product of features, for the MLP (which approximates steps poorly).
const smooth: Truth = (x, at) => 1.5 * Math.tanh(2 * x[at]!) + 0.5 * x[at + 1]! * x[at + 2]! + 0.8 * x[at + 3]! - 0.3 * x[at + 5]!;

interface Sample extends TrainingData {
  /** The truth's probability (binary) or mean (regression) per row. */
  truth: Float64Array;
}

function sample(rows: number, seed: number, task: TrainTask, truth: Truth): Sample {
  const rng = seededRandom(seed);
  const x = Float32Array.from({ length: rows * WIDTH }, () => rng.normal());
  const mean = Float64Array.from({ length: rows }, (_, i) => truth(x, i * WIDTH));
  const binary = task === "binary_classification";
  const y = Float32Array.from(mean, (m) => (binary ? (rng.uniform() < sigmoid(m) ? 1 : 0) : m + NOISE_SD * rng.normal()));
  return { x, y, rows, width: WIDTH, truth: binary ? mean.map(sigmoid) : mean };
}

const quietContext = (validation?: TrainingData): TrainContext & { fractions: number[] } => {
  const fractions: number[] = [];
  return { signal: new AbortController().signal, progress: (f) => void fractions.push(f), fractions, ...(validation ? { validation } : {}) };
};

/** Rows for the export check: test rows, and rows three times farther out than training saw. */
function parityRows(test: Sample): Float32Array {
  const inside = test.x.subarray(0, 200 * WIDTH);
  const outside = Float32Array.from(test.x.subarray(200 * WIDTH, 300 * WIDTH), (v) => v * 3);
  return Float32Array.from([...inside, ...outside]);
}

async function runOnnx(runtime: "node" | "web", bytes: Uint8Array, x: Float32Array, rows: number): Promise<Float32Array> {
  const ort = runtime === "node" ? ortNode : ortWeb;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: runtime === "node" ? ["cpu"] : ["wasm"] });
  expect(session.outputNames).toEqual(["score_out"]);
  const out = await session.run({ features: new ort.Tensor("float32", x, [rows, WIDTH]) });
  const y = out.score_out!;
  expect(y.dims).toEqual([rows, 1]);
  await session.release();
  return y.data as Float32Array;
}

const cases: { algorithm: AlgorithmName; task: TrainTask; truth: Truth; label: string; params?: unknown; info: string[] }[] = [
  { algorithm: "logreg", info: ["iterations", "train_loss"], task: "binary_classification", truth: linear, label: "linear logit" },
  { algorithm: "logreg", info: ["iterations", "train_loss"], task: "regression", truth: linear, label: "linear mean" },
  { algorithm: "mlp", info: ["epochs", "train_loss"], task: "binary_classification", truth: linear, label: "linear logit" },
  { algorithm: "mlp", info: ["epochs", "train_loss"], task: "binary_classification", truth: smooth, label: "smooth nonlinear logit" },
  { algorithm: "mlp", info: ["epochs", "train_loss"], task: "regression", truth: smooth, label: "smooth nonlinear mean" },
  { algorithm: "gbdt", info: ["trees", "train_loss"], task: "binary_classification", truth: nonlinear, label: "nonlinear logit" },
  { algorithm: "gbdt", info: ["trees", "train_loss"], task: "regression", truth: nonlinear, label: "nonlinear mean" },
];

for (const c of cases) {
  describe(`${c.algorithm}, ${c.task}, ${c.label}`, () => {
    let model: TrainedModel;
    let test: Sample;
    let fractions: number[];

    beforeAll(async () => {
      const train = sample(20_000, 1, c.task, c.truth);
      const ctx = quietContext(sample(4_000, 2, c.task, c.truth));
      test = sample(20_000, 3, c.task, c.truth);
      model = await algorithms[c.algorithm].train(train, parseParams(algorithms[c.algorithm], c.params), c.task, ctx);
      fractions = ctx.fractions;
    });

    it("reports progress up to 1", () => {
      expect(fractions.length).toBeGreaterThan(1);
      expect(fractions.at(-1)).toBe(1);
      expect(fractions.every((f) => f >= 0 && f <= 1)).toBe(true);
    });

    it("records how the fit went", () => {
      for (const key of c.info) expect(Number.isFinite(model.info[key]), key).toBe(true);
      expect(model.task).toBe(c.task);
    });

    it("learns about as well as the true model allows", () => {
      const predicted = model.predict(test.x, test.rows);
      if (c.task === "binary_classification") {
        const best = auc(test.y, test.truth);
        expect(auc(test.y, predicted)).toBeGreaterThan(best - 0.01);
      } else {
        // The truth itself misses by the noise alone; the model may miss by little more, because
        // it lies close to the truth (distance measured against the noise-free mean).
        const best = rmse(test.y, test.truth);
        expect(best).toBeCloseTo(NOISE_SD, 2);
        expect(rmse(test.y, predicted)).toBeLessThan(best * (c.algorithm === "logreg" ? 1.02 : 1.1));
        expect(rmse(test.truth, predicted)).toBeLessThan(c.algorithm === "logreg" ? 0.05 : 0.25);
      }
    });

    it("predicts what its ONNX export computes in onnxruntime-node and onnxruntime-web", async () => {
      const x = parityRows(test);
      const rows = x.length / WIDTH;
      const own = model.predict(x, rows);
      const bytes = model.toOnnx("features", "score_out");
      for (const runtime of ["node", "web"] as const) {
        const onnx = await runOnnx(runtime, bytes, x, rows);
        let worst = 0;
        for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(onnx[i]! - own[i]!));
        expect(worst, runtime).toBeLessThan(1e-5);
      }
    });
  });
}

describe("tree ensemble export", () => {
  // Two trees over two features; thresholds that are float32 values the rows hit exactly.
  const t01 = Math.fround(0.1);
  const trees: FlatTree[] = [
    { feature: [0, -1, 1, -1, -1], threshold: [t01, 0, -2, 0, 0], left: [1, 0, 3, 0, 0], right: [2, 0, 4, 0, 0], value: [0, -1, 0, 0.5, 2] },
    { feature: [1, -1, -1], threshold: [0, 0, 0], left: [1, 0, 0], right: [2, 0, 0], value: [0, 0.25, -0.75] },
  ];
  const x = Float32Array.from([t01, 5, Math.fround(0.1000001), -2, 0.2, -2.5, -7, 0, 1e30, -1e30]);
  const rows = x.length / 2;
  const walk = (tree: FlatTree, at: number) => {
    let n = 0;
    while (tree.feature[n]! >= 0) n = x[at + tree.feature[n]!]! <= tree.threshold[n]! ? tree.left[n]! : tree.right[n]!;
    return tree.value[n]!;
  };
  const raw = Array.from({ length: rows }, (_, i) => 0.3 + walk(trees[0]!, i * 2) + walk(trees[1]!, i * 2));

  for (const runtime of ["node", "web"] as const) {
    it(`sends x == threshold to the true branch and sums leaves plus the base in ${runtime}`, async () => {
      const ort = runtime === "node" ? ortNode : ortWeb;
      for (const transform of ["none", "logistic"] as const) {
        const bytes = treeEnsembleModel(trees, { width: 2, baseValue: 0.3, outputTransform: transform, inputName: "x", outputName: "y" });
        const session = await ort.InferenceSession.create(bytes, { executionProviders: [runtime === "node" ? "cpu" : "wasm"] });
        const out = (await session.run({ x: new ort.Tensor("float32", x, [rows, 2]) })).y!;
        expect(out.dims).toEqual([rows, 1]);
        const expected = raw.map((v) => (transform === "logistic" ? sigmoid(v) : v));
        (out.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
        await session.release();
      }
    });
  }

  it("applies the logistic as a Sigmoid node, since onnxruntime ignores the regressor's LOGISTIC post_transform", () => {
    const model = onnx.ModelProto.decode(treeEnsembleModel(trees, { width: 2, baseValue: 0, outputTransform: "logistic" }));
    expect(model.graph!.node!.map((n) => n.opType)).toEqual(["TreeEnsembleRegressor", "Sigmoid"]);
    expect(model.opsetImport!.map((o) => o.domain)).toContain("ai.onnx.ml");
  });
});

describe("early stopping", () => {
  it("gbdt keeps the trees up to the best validation loss", async () => {
    const train = sample(5_000, 6, "binary_classification", linear);
    const ctx = quietContext(sample(2_000, 7, "binary_classification", linear));
    const params = parseParams(algorithms.gbdt, { n_trees: 300, learning_rate: 0.5, early_stopping_rounds: 5 });
    const model = await algorithms.gbdt.train(train, params, "binary_classification", ctx);
    expect(model.info.trees_grown).toBeLessThan(300);
    expect(model.info.trees).toBe(model.info.trees_grown! - 5);
    expect(ctx.fractions.at(-1)).toBe(1);
  });

  it("mlp stops after `patience` epochs without improvement", async () => {
    const train = sample(2_000, 8, "regression", linear);
    const ctx = quietContext(sample(1_000, 9, "regression", linear));
    const params = parseParams(algorithms.mlp, { epochs: 500, patience: 3, learning_rate: 0.01 });
    const model = await algorithms.mlp.train(train, params, "regression", ctx);
    expect(model.info.epochs).toBeLessThan(500);
    expect(model.info.epochs).toBeGreaterThanOrEqual(model.info.best_epoch! + 3);
  });
});

describe("cancellation", () => {
  for (const name of Object.keys(algorithms) as AlgorithmName[]) {
    it(`${name} stops with the signal's reason`, async () => {
      const data = sample(5_000, 4, "binary_classification", linear);
      const controller = new AbortController();
      const reason = new Error("job cancelled");
      let calls = 0;
      const ctx: TrainContext = {
        signal: controller.signal,
        progress: () => {
          if (++calls === 2) controller.abort(reason);
        },
      };
      // Enough work that training is not over after the second progress report.
      const params = parseParams(algorithms[name], name === "logreg" ? { l2: 0, tol: 1e-300 } : name === "mlp" ? { epochs: 50, batch_size: 32 } : { n_trees: 200 });
      await expect(algorithms[name].train(data, params, "binary_classification", ctx)).rejects.toBe(reason);
    });
  }

  it("yields to the event loop while training", async () => {
    const data = sample(20_000, 5, "binary_classification", linear);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await algorithms.gbdt.train(data, parseParams(algorithms.gbdt, { n_trees: 30 }), "binary_classification", quietContext());
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});

describe("params", () => {
  it("fills defaults", () => {
    expect(parseParams(algorithms.mlp, undefined)).toMatchObject({ hidden: [32], patience: 5 });
    expect(parseParams(algorithms.gbdt, { n_trees: 7 })).toMatchObject({ n_trees: 7, learning_rate: 0.1, max_depth: 6, min_samples_leaf: 20, l2: 1, max_bins: 255 });
    expect(parseParams(algorithms.gbdt, undefined)).toMatchObject({ n_trees: 100 });
    expect(parseParams(algorithms.logreg, {})).toMatchObject({ l2: 1e-4, max_iter: 100 });
  });

  it.each([
    ["gbdt", { n_trees: 0 }, "params.n_trees"],
    ["gbdt", { max_bins: 1000 }, "params.max_bins"],
    ["mlp", { hidden: [16, 0] }, "params.hidden[1]"],
    ["mlp", { learning_rate: "fast" }, "params.learning_rate"],
    ["gbdt", { min_samples_leaf: 0 }, "params.min_samples_leaf"],
    ["logreg", { l2: -1 }, "params.l2"],
    ["logreg", { max_iter: 0.5 }, "params.max_iter"],
    ["logreg", { lr: 1 }, '"lr"'],
  ] as const)("%s rejects %j naming %s", (name, params, field) => {
    let error: unknown;
    try {
      parseParams(algorithms[name], params);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).message).toContain(field);
  });
});
