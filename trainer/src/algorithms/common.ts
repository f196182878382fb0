// What the built-in algorithms share: cooperative pacing (progress, cancellation, yielding to the
// event loop the job API runs on), seeded randomness and feature standardization.
import type { TrainContext, TrainingData } from "./types.ts";

/** Longest stretch of computation between two yields to the event loop. */
const SLICE_MS = 50;

/**
 * Paces a training loop: `await pace.tick(f)` reports progress, throws the abort reason once the
 * job is cancelled, and yields to the event loop when the current slice has run long enough.
 */
export class Pacer {
  private last = performance.now();
  constructor(private readonly ctx: TrainContext) {}

  async tick(fraction: number, message?: string): Promise<void> {
    this.ctx.progress(Math.min(1, Math.max(0, fraction)), message);
    await this.yieldIfDue();
  }

  /** Yields (and checks cancellation) only if the slice is used up; cheap to call in inner loops. */
  async yieldIfDue(): Promise<void> {
    if (this.ctx.signal.aborted) throw this.ctx.signal.reason;
    if (performance.now() - this.last < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
    if (this.ctx.signal.aborted) throw this.ctx.signal.reason;
  }
}

/** A seeded generator (mulberry32) with uniform, normal and shuffle helpers. */
export function seededRandom(seed: number) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const shuffle = (a: Uint32Array) => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  };
  return { uniform, normal, shuffle };
}

export interface Standardization {
  mean: Float64Array;
  /** Standard deviation, 1 for a constant feature so that it maps to 0. */
  scale: Float64Array;
}

export async function standardization(data: TrainingData, pace: Pacer): Promise<Standardization> {
  const { x, rows, width } = data;
  const mean = new Float64Array(width);
  const sq = new Float64Array(width);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < width; j++) mean[j]! += x[i * width + j]!;
    if ((i & 0xffff) === 0xffff) await pace.yieldIfDue();
  }
  for (let j = 0; j < width; j++) mean[j]! /= Math.max(1, rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < width; j++) {
      const d = x[i * width + j]! - mean[j]!;
      sq[j]! += d * d;
    }
    if ((i & 0xffff) === 0xffff) await pace.yieldIfDue();
  }
  const scale = sq.map((s) => {
    const sd = Math.sqrt(s / Math.max(1, rows));
    return sd > 1e-12 ? sd : 1;
  });
  return { mean, scale };
}

export const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Mean log loss (binary) or mean squared error (regression) of raw scores against targets. */
export function meanLoss(scores: Float64Array, y: Float32Array, binary: boolean): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const z = scores[i]!;
    if (binary) sum += Math.max(z, 0) - z * y[i]! + Math.log1p(Math.exp(-Math.abs(z)));
    else sum += (z - y[i]!) ** 2;
  }
  return sum / Math.max(1, y.length);
}
