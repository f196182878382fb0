// (training) The built-in algorithms on 1,000,000 synthetic rows: time to train with default
// params, then inference on each exported model in onnxruntime-node and onnxruntime-web.
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { algorithms, parseParams, type AlgorithmName } from "../trainer/src/algorithms/index.ts";
import { seededRandom } from "../trainer/src/algorithms/common.ts";
import type { TrainedModel, TrainingData } from "../trainer/src/algorithms/types.ts";
import { auc } from "../trainer/src/evaluate/metrics.ts";
import { conditions, median, writeSection } from "./report.ts";

const ROWS = 1_000_000;
const VALIDATION_ROWS = 100_000;
const WIDTH = 20;
const ROUNDS = 7;
const ITERATIONS = { 1: 2_000, 64: 500 } as const;
/** MLP epochs are capped so the suite stays within minutes (one epoch over 1M rows takes seconds). */
const MLP_EPOCHS = 15;
const PARAMS: Record<AlgorithmName, unknown> = { logreg: {}, mlp: { epochs: MLP_EPOCHS }, gbdt: {} };

/** Binary labels from a known logit: linear in every feature, plus a step and an interaction. */
function syntheticBinary(rows: number, seed: number): TrainingData {
  const rng = seededRandom(seed);
  const w = Array.from({ length: WIDTH }, (_, j) => (j < 12 ? 0.4 * seededRandom(j + 100).normal() : 0));
  const x = new Float32Array(rows * WIDTH);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let logit = -0.7;
    for (let j = 0; j < WIDTH; j++) {
      const v = rng.normal();
      x[i * WIDTH + j] = v;
      logit += w[j]! * v;
    }
    const at = i * WIDTH;
    logit += (x[at]! > 0.5 ? 1 : 0) + (x[at + 1]! > 0 && x[at + 2]! < 0 ? -0.8 : 0);
    y[i] = rng.uniform() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { x, y, rows, width: WIDTH };
}

interface Timed {
  name: AlgorithmName;
  model: TrainedModel;
  seconds: number;
  auc: number;
  /** Longest gap between two 5 ms timer ticks while training, in ms. */
  stall: number;
}

function mlpNote(trained: Timed[]): string {
  const info = trained.find((t) => t.name === "mlp")?.model.info;
  if (!info) return "";
  return info.epochs === MLP_EPOCHS
    ? `It ran to the cap and kept the weights of epoch ${info.best_epoch} (lowest validation loss); the default's longer run may fit better.`
    : `Early stopping ended it at epoch ${info.epochs}, keeping epoch ${info.best_epoch}.`;
}

export async function benchTraining(): Promise<void> {
  ortWeb.env.wasm.numThreads = 1;
  const train = syntheticBinary(ROWS, 1);
  const validation = syntheticBinary(VALIDATION_ROWS, 2);
  const trained: Timed[] = [];
  for (const name of Object.keys(algorithms) as AlgorithmName[]) {
    const algorithm = algorithms[name];
    // The job API shares this event loop: record the longest stretch training keeps it busy.
    let last = performance.now();
    let stall = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 5);
    const t0 = performance.now();
    const model = await algorithm.train(train, parseParams(algorithm, PARAMS[name]), "binary_classification", {
      signal: new AbortController().signal,
      progress: () => {},
      validation,
    });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(probe);
    const trainAuc = auc(train.y, model.predict(train.x, train.rows));
    trained.push({ name, model, seconds, auc: trainAuc, stall });
    console.log(`${name}: ${seconds.toFixed(1)} s, train AUC ${trainAuc.toFixed(4)}`, model.info);
  }

  const inference: string[] = [];
  for (const { name, model } of trained) {
    const bytes = model.toOnnx("input", "probability");
    const node = await ortNode.InferenceSession.create(bytes, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
    const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    for (const batch of [1, 64] as const) {
      const input = train.x.slice(0, batch * WIDTH);
      const n = ITERATIONS[batch];
      const time = async (run: () => Promise<unknown>) => {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) await run();
        return ((performance.now() - t0) / n) * 1000;
      };
      const runNode = () => node.run({ input: new ortNode.Tensor("float32", input, [batch, WIDTH]) });
      const runWeb = () => web.run({ input: new ortWeb.Tensor("float32", input, [batch, WIDTH]) });
      await time(runNode); // warm-up
      await time(runWeb);
      const nodeUs: number[] = [];
      const webUs: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        nodeUs.push(await time(runNode));
        webUs.push(await time(runWeb));
      }
      const [a, b] = [median(nodeUs), median(webUs)];
      inference.push(`| ${name} | ${batch} | ${a.toFixed(1)} µs | ${b.toFixed(1)} µs | ${(b / a).toFixed(2)} |`);
      console.log(inference.at(-1));
    }
    await node.release();
    await web.release();
  }

  const describe = (t: Timed) => {
    const params = JSON.stringify(parseParams(algorithms[t.name], PARAMS[t.name]));
    const info = Object.entries(t.model.info)
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
      .join(", ");
    return `| ${t.name} | \`${params}\` | ${t.seconds.toFixed(1)} s | ${t.auc.toFixed(4)} | ${t.stall.toFixed(0)} ms | ${info} |`;
  };
  writeSection(
    "training",
    `## Training: built-in algorithms on ${ROWS.toLocaleString("en")} rows

Synthetic binary data (seeded): ${ROWS.toLocaleString("en")} training rows × ${WIDTH} standard-normal features, labels drawn from a logit that is linear in 12 features plus a step and an interaction; ${VALIDATION_ROWS.toLocaleString("en")} further rows for early stopping. One process, single-threaded JavaScript on typed arrays; the stall column is the longest gap between ticks of a 5 ms timer during training (what a request to the job API could wait).

| algorithm | params (after defaults) | training time | train AUC | longest event-loop stall | fit |
|---|---|---|---|---|---|
${trained.map(describe).join("\n")}

The MLP's epochs are capped at ${MLP_EPOCHS} here (the default is 100, with early stopping): one epoch over 1M rows takes a few seconds, so the default could run for several minutes. ${mlpNote(trained)}

### Inference on the exported models: onnxruntime-node vs onnxruntime-web

| model | batch | ort-node (per inference) | ort-web (per inference) | ratio web/node |
|---|---|---|---|---|
${inference.join("\n")}

Median of ${ROUNDS} alternating rounds (${ITERATIONS[1]} inferences per round at batch 1, ${ITERATIONS[64]} at batch 64) after a warm-up round, each inference including tensor creation. ort-node: CPU execution provider, 1 intra-op thread. ort-web: its wasm build (SIMD, 1 thread) running in Node, not in workerd; section (a) measures ort-web inside workerd.
${conditions()}`,
  );
}
