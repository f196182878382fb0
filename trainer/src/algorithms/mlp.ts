// A multi-layer perceptron: ReLU hidden layers, He-initialized from a seed, Adam on shuffled
// minibatches, early stopping on the validation rows. Inputs (and, for regression, the target)
// are standardized while training; the scaling is folded into the first and last layers on export.
import { mlpModel, type DenseLayer } from "@verge/shared/onnx/writer";
import { z } from "zod";
import { meanLoss, Pacer, seededRandom, sigmoid, standardization, type Standardization } from "./common.ts";
import type { Algorithm, TrainedModel, TrainingData, TrainTask } from "./types.ts";

export const mlpParams = z
  .strictObject({
    hidden: z.array(z.number().int().min(1).max(4096)).max(8).default([32]),
    learning_rate: z.number().positive().max(1).default(1e-3),
    batch_size: z.number().int().min(1).max(65_536).default(256),
    /** Most passes over the data; fewer when early stopping ends training. */
    epochs: z.number().int().min(1).max(10_000).default(100),
    /** Epochs without a better validation loss before stopping (needs validation rows). */
    patience: z.number().int().min(1).max(1000).default(5),
    /** Decoupled weight decay on the weight matrices (not the biases). */
    weight_decay: z.number().min(0).max(1).default(0),
    seed: z.number().int().default(1),
  })
  .prefault({});
export type MlpParams = z.infer<typeof mlpParams>;

/** One layer while training: weights [in, out] row-major, with Adam's moments. */
interface Layer {
  inputs: number;
  outputs: number;
  w: Float64Array;
  b: Float64Array;
  gw: Float64Array;
  gb: Float64Array;
  mw: Float64Array;
  vw: Float64Array;
  mb: Float64Array;
  vb: Float64Array;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPS = 1e-8;

export const mlp: Algorithm<MlpParams> = {
  name: "mlp",
  params: mlpParams,
  async train(data, params, task, ctx) {
    const pace = new Pacer(ctx);
    const binary = task === "binary_classification";
    const { rows, width } = data;
    const rng = seededRandom(params.seed);
    const std = await standardization(data, pace);
    const target = binary ? { mean: 0, scale: 1 } : targetScaling(data.y);
    const sizes = [width, ...params.hidden, 1];
    const layers: Layer[] = sizes.slice(1).map((outputs, i) => {
      const inputs = sizes[i]!;
      const sd = Math.sqrt(2 / inputs);
      const w = new Float64Array(inputs * outputs).map(() => rng.normal() * sd);
      const zeros = () => new Float64Array(inputs * outputs);
      const zerosB = () => new Float64Array(outputs);
      return { inputs, outputs, w, b: zerosB(), gw: zeros(), gb: zerosB(), mw: zeros(), vw: zeros(), mb: zerosB(), vb: zerosB() };
    });
    const batch = Math.min(params.batch_size, Math.max(1, rows));
    const net = new Network(layers, batch);
    const xs = new Float64Array(batch * width);
    const order = new Uint32Array(rows).map((_, i) => i);
    const val = ctx.validation && ctx.validation.rows > 0 ? ctx.validation : undefined;

    let step = 0;
    let best = { loss: Infinity, epoch: 0, weights: snapshot(layers) };
    let epoch = 0;
    let trainLoss = NaN;
    while (epoch < params.epochs) {
      rng.shuffle(order);
      let lossSum = 0;
      for (let start = 0; start < rows; start += batch) {
        const n = Math.min(batch, rows - start);
        for (let k = 0; k < n; k++) {
          const r = order[start + k]!;
          for (let j = 0; j < width; j++) xs[k * width + j] = (data.x[r * width + j]! - std.mean[j]!) / std.scale[j]!;
        }
        const out = net.forward(xs, n);
        const delta = net.outputDelta;
        for (let k = 0; k < n; k++) {
          const yk = (data.y[order[start + k]!]! - target.mean) / target.scale;
          const z = out[k]!;
          lossSum += binary ? Math.max(z, 0) - z * yk + Math.log1p(Math.exp(-Math.abs(z))) : 0.5 * (z - yk) ** 2;
          delta[k] = ((binary ? sigmoid(z) : z) - yk) / n;
        }
        net.backward(xs, n);
        step++;
        adam(layers, params.learning_rate, params.weight_decay, step);
        await pace.yieldIfDue();
      }
      epoch++;
      trainLoss = lossSum / Math.max(1, rows);
      let message = `epoch ${epoch}, train loss ${trainLoss.toFixed(5)}`;
      if (val) {
        const loss = await validationLoss(net, val, std, target, binary, pace);
        message += `, validation loss ${loss.toFixed(5)}`;
        if (loss < best.loss - 1e-7) best = { loss, epoch, weights: snapshot(layers) };
        else if (epoch - best.epoch >= params.patience) {
          await pace.tick(1, `${message}; stopping early, best epoch ${best.epoch}`);
          break;
        }
      }
      await pace.tick(epoch / params.epochs, message);
    }
    if (val) restore(layers, best.weights);
    ctx.progress(1, `done after ${epoch} epochs`);
    return denseModel(task, exportLayers(layers, std, target), {
      epochs: epoch,
      best_epoch: val ? best.epoch : epoch,
      train_loss: trainLoss,
      ...(val ? { validation_loss: best.loss } : {}),
    });
  },
};

/** Forward and backward passes over one minibatch, with buffers reused across batches. */
class Network {
  /** Post-activation outputs per layer; the last is the raw output (logit or standardized value). */
  private readonly acts: Float64Array[];
  private readonly deltas: Float64Array[];
  constructor(private readonly layers: Layer[], batch: number) {
    this.acts = layers.map((l) => new Float64Array(batch * l.outputs));
    this.deltas = layers.map((l) => new Float64Array(batch * l.outputs));
  }

  get outputDelta(): Float64Array {
    return this.deltas[this.deltas.length - 1]!;
  }

  forward(x: Float64Array, n: number): Float64Array {
    let input = x;
    this.layers.forEach((l, li) => {
      const out = this.acts[li]!;
      const last = li === this.layers.length - 1;
      for (let k = 0; k < n; k++) {
        const o = k * l.outputs;
        for (let c = 0; c < l.outputs; c++) out[o + c] = l.b[c]!;
        for (let i = 0; i < l.inputs; i++) {
          const v = input[k * l.inputs + i]!;
          if (v === 0) continue;
          const wi = i * l.outputs;
          for (let c = 0; c < l.outputs; c++) out[o + c]! += v * l.w[wi + c]!;
        }
        if (!last) for (let c = 0; c < l.outputs; c++) if (out[o + c]! < 0) out[o + c] = 0;
      }
      input = out;
    });
    return input;
  }

  /** Gradients from `outputDelta` (∂loss/∂output, already divided by the batch size). */
  backward(x: Float64Array, n: number): void {
    for (let li = this.layers.length - 1; li >= 0; li--) {
      const l = this.layers[li]!;
      const delta = this.deltas[li]!;
      const input = li === 0 ? x : this.acts[li - 1]!;
      l.gw.fill(0);
      l.gb.fill(0);
      const prev = li > 0 ? this.deltas[li - 1]! : undefined;
      for (let k = 0; k < n; k++) {
        const d = k * l.outputs;
        for (let c = 0; c < l.outputs; c++) l.gb[c]! += delta[d + c]!;
        for (let i = 0; i < l.inputs; i++) {
          const v = input[k * l.inputs + i]!;
          const wi = i * l.outputs;
          let back = 0;
          for (let c = 0; c < l.outputs; c++) {
            l.gw[wi + c]! += v * delta[d + c]!;
            back += l.w[wi + c]! * delta[d + c]!;
          }
          // ReLU's derivative: the previous layer's activation is zero exactly where it was cut.
          if (prev) prev[k * l.inputs + i] = v > 0 ? back : 0;
        }
      }
    }
  }
}

function adam(layers: Layer[], lr: number, decay: number, t: number): void {
  const c1 = 1 - BETA1 ** t;
  const c2 = 1 - BETA2 ** t;
  const update = (p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, wd: number) => {
    for (let i = 0; i < p.length; i++) {
      m[i] = BETA1 * m[i]! + (1 - BETA1) * g[i]!;
      v[i] = BETA2 * v[i]! + (1 - BETA2) * g[i]! ** 2;
      p[i] = p[i]! - lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + ADAM_EPS) + wd * p[i]!);
    }
  };
  for (const l of layers) {
    update(l.w, l.gw, l.mw, l.vw, decay);
    update(l.b, l.gb, l.mb, l.vb, 0);
  }
}

async function validationLoss(net: Network, val: TrainingData, std: Standardization, target: Scaling, binary: boolean, pace: Pacer): Promise<number> {
  const chunk = 1024;
  const xs = new Float64Array(chunk * val.width);
  const scores = new Float64Array(val.rows);
  const ys = new Float32Array(val.rows);
  for (let start = 0; start < val.rows; start += chunk) {
    const n = Math.min(chunk, val.rows - start);
    for (let k = 0; k < n * val.width; k++) {
      const j = k % val.width;
      xs[k] = (val.x[start * val.width + k]! - std.mean[j]!) / std.scale[j]!;
    }
    // The network's buffers are sized for one training batch; go through in batch-sized pieces.
    for (let off = 0; off < n; ) {
      const m = Math.min(n - off, net.outputDelta.length);
      const out = net.forward(xs.subarray(off * val.width), m);
      for (let k = 0; k < m; k++) scores[start + off + k] = out[k]!;
      off += m;
    }
    await pace.yieldIfDue();
  }
  for (let i = 0; i < val.rows; i++) ys[i] = (val.y[i]! - target.mean) / target.scale;
  return meanLoss(scores, ys, binary);
}

interface Scaling {
  mean: number;
  scale: number;
}

function targetScaling(y: Float32Array): Scaling {
  let s = 0;
  let sq = 0;
  for (let i = 0; i < y.length; i++) s += y[i]!;
  const mean = s / Math.max(1, y.length);
  for (let i = 0; i < y.length; i++) sq += (y[i]! - mean) ** 2;
  const sd = Math.sqrt(sq / Math.max(1, y.length));
  return { mean, scale: sd > 1e-12 ? sd : 1 };
}

const snapshot = (layers: Layer[]) => layers.map((l) => ({ w: l.w.slice(), b: l.b.slice() }));
function restore(layers: Layer[], saved: ReturnType<typeof snapshot>): void {
  layers.forEach((l, i) => {
    l.w.set(saved[i]!.w);
    l.b.set(saved[i]!.b);
  });
}

/** Float32 layers that take raw features and give raw outputs (standardization folded in). */
function exportLayers(layers: Layer[], std: Standardization, target: Scaling): DenseLayer[] {
  return layers.map((l, li) => {
    const w = Float64Array.from(l.w);
    const b = Float64Array.from(l.b);
    if (li === 0) {
      // (x − μ)/σ · W + b = x · (W/σ) + (b − Σᵢ μᵢ/σᵢ · Wᵢ)
      for (let i = 0; i < l.inputs; i++) {
        for (let c = 0; c < l.outputs; c++) {
          b[c] = b[c]! - (std.mean[i]! / std.scale[i]!) * w[i * l.outputs + c]!;
          w[i * l.outputs + c] = w[i * l.outputs + c]! / std.scale[i]!;
        }
      }
    }
    if (li === layers.length - 1) {
      for (let k = 0; k < w.length; k++) w[k] = w[k]! * target.scale;
      for (let c = 0; c < b.length; c++) b[c] = b[c]! * target.scale + target.mean;
    }
    return { weights: Float32Array.from(w), bias: Float32Array.from(b) };
  });
}

/** A fitted MLP: predicts in double precision from the float32 layers it exports. */
function denseModel(task: TrainTask, layers: DenseLayer[], info: Record<string, number>): TrainedModel {
  const binary = task === "binary_classification";
  return {
    task,
    info,
    predict(x, rows) {
      const out = new Float32Array(rows);
      const width = layers[0]!.weights.length / layers[0]!.bias.length;
      for (let r = 0; r < rows; r++) {
        let input = Float64Array.from(x.subarray(r * width, (r + 1) * width));
        layers.forEach((l, li) => {
          const outputs = l.bias.length;
          const h = Float64Array.from(l.bias);
          for (let i = 0; i < input.length; i++) for (let c = 0; c < outputs; c++) h[c]! += input[i]! * l.weights[i * outputs + c]!;
          if (li < layers.length - 1) for (let c = 0; c < outputs; c++) h[c] = Math.max(0, h[c]!);
          input = h;
        });
        out[r] = binary ? sigmoid(input[0]!) : input[0]!;
      }
      return out;
    },
    toOnnx(inputName, outputName) {
      return mlpModel(layers, binary ? "sigmoid" : "none", { inputName, outputName });
    },
  };
}
