// The built-in algorithms: each learns a known model about as well as the truth allows, predicts
// exactly what its ONNX export computes in onnxruntime-node and onnxruntime-web, can be cancelled,
// and rejects bad params by name.
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "@verge/shared";
import { algorithms, parseParams, type AlgorithmName } from "../src/algorithms/index.ts";
import { seededRandom } from "../src/algorithms/common.ts";
import type { TrainContext, TrainedModel, TrainingData, TrainTask } from "../src/algorithms/types.ts";
import { rmse, rocAuc } from "../src/evaluate/metrics.ts";

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
  const ort = (runtime === "node" ? ortNode : ortWeb) as typeof ortNode;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: runtime === "node" ? ["cpu"] : ["wasm"] });
  expect(session.outputNames).toEqual(["score_out"]);
  const out = await session.run({ features: new ort.Tensor("float32", x, [rows, WIDTH]) });
  const y = out.score_out!;
  expect(y.dims).toEqual([rows, 1]);
  await session.release();
  return y.data as Float32Array;
}

const cases: { algorithm: AlgorithmName; task: TrainTask; truth: Truth; label: string; params?: unknown }[] = [
  { algorithm: "logreg", task: "binary_classification", truth: linear, label: "linear logit" },
  { algorithm: "logreg", task: "regression", truth: linear, label: "linear mean" },
  { algorithm: "mlp", task: "binary_classification", truth: linear, label: "linear logit" },
  { algorithm: "mlp", task: "binary_classification", truth: smooth, label: "smooth nonlinear logit" },
  { algorithm: "mlp", task: "regression", truth: smooth, label: "smooth nonlinear mean" },
  { algorithm: "gbdt", task: "binary_classification", truth: nonlinear, label: "nonlinear logit" },
  { algorithm: "gbdt", task: "regression", truth: nonlinear, label: "nonlinear mean" },
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

    it("learns about as well as the true model allows", () => {
      const predicted = model.predict(test.x, test.rows);
      if (c.task === "binary_classification") {
        const best = rocAuc(test.y, test.truth);
        expect(rocAuc(test.y, predicted)).toBeGreaterThan(best - 0.01);
      } else {
        expect(rmse(test.truth, test.truth)).toBe(0);
        expect(rmse(test.y, predicted)).toBeLessThan(NOISE_SD * (c.algorithm === "logreg" ? 1.02 : 1.1));
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
    expect(parseParams(algorithms.gbdt, { n_trees: 7 })).toMatchObject({ n_trees: 7, max_bins: 255, learning_rate: 0.1 });
    expect(parseParams(algorithms.logreg, {})).toMatchObject({ max_iter: 100 });
  });

  it.each([
    ["gbdt", { n_trees: 0 }, "params.n_trees"],
    ["gbdt", { max_bins: 1000 }, "params.max_bins"],
    ["mlp", { hidden: [16, 0] }, "params.hidden[1]"],
    ["mlp", { learning_rate: "fast" }, "params.learning_rate"],
    ["logreg", { l2: -1 }, "params.l2"],
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
