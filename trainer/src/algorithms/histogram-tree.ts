// Histogram-based regression trees for gradient boosting: features cut into at most 255 quantile
// bins once, then each tree grows leaf-wise from gradient/hessian histograms, building the smaller
// child's histogram and taking the larger one's as parent − smaller.
import type { FlatTree } from "@verge/shared/onnx/trees";
import type { Pacer } from "./common.ts";
import type { TrainingData } from "./types.ts";

/** Rows sampled per feature to place the bin edges. */
const BIN_SAMPLE = 200_000;
/** Smallest hessian sum a child may have (guards logloss leaves that are all one class). */
const MIN_CHILD_HESSIAN = 1e-3;

export interface Binned {
  /** Row-major bin indices, rows × width. */
  bins: Uint8Array;
  /** Per feature, ascending float32 thresholds: bin k holds x with thresholds[k−1] < x <= thresholds[k]. */
  thresholds: Float32Array[];
  maxBins: number;
}

/** Cuts every feature into ≤ maxBins bins at sampled quantiles (or between distinct values). */
export async function binFeatures(data: TrainingData, maxBins: number, pace: Pacer): Promise<Binned> {
  const { x, rows, width } = data;
  const sampleRows = Math.min(rows, BIN_SAMPLE);
  const stride = rows / Math.max(1, sampleRows);
  const thresholds: Float32Array[] = [];
  const values = new Float32Array(sampleRows);
  for (let f = 0; f < width; f++) {
    for (let k = 0; k < sampleRows; k++) values[k] = x[Math.floor(k * stride) * width + f]!;
    values.sort();
    const distinct: number[] = [];
    for (let k = 0; k < sampleRows; k++) if (k === 0 || values[k] !== values[k - 1]) distinct.push(values[k]!);
    const cuts: number[] = [];
    if (distinct.length <= maxBins) {
      // Between consecutive distinct values, at a float32 midpoint strictly below the upper one.
      for (let k = 0; k + 1 < distinct.length; k++) {
        const mid = Math.fround((distinct[k]! + distinct[k + 1]!) / 2);
        cuts.push(mid < distinct[k + 1]! ? mid : distinct[k]!);
      }
    } else {
      for (let q = 1; q < maxBins; q++) {
        const v = values[Math.min(sampleRows - 1, Math.floor((q * sampleRows) / maxBins))]!;
        if (v !== cuts[cuts.length - 1] && v < distinct[distinct.length - 1]!) cuts.push(v);
      }
    }
    thresholds.push(Float32Array.from(cuts));
    await pace.yieldIfDue();
  }
  const bins = new Uint8Array(rows * width);
  for (let i = 0; i < rows; i++) {
    for (let f = 0; f < width; f++) bins[i * width + f] = binOf(thresholds[f]!, x[i * width + f]!);
    if ((i & 0xffff) === 0xffff) await pace.yieldIfDue();
  }
  return { bins, thresholds, maxBins };
}

/** The first bin whose threshold is >= v (the last bin when none is). */
function binOf(t: Float32Array, v: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= t[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface TreeOptions {
  maxDepth: number;
  maxLeaves: number;
  minSamplesLeaf: number;
  l2: number;
  /** Multiplies every leaf value. */
  learningRate: number;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: Float64Array;
  g: number;
  h: number;
  split: Split | undefined;
}

/**
 * Grows one tree on the rows' gradients and hessians and adds its leaf values to `scores`.
 * `order` is scratch space of `rows` entries.
 */
export async function growTree(binned: Binned, width: number, grad: Float64Array, hess: Float64Array, scores: Float64Array, order: Uint32Array, opts: TreeOptions, pace: Pacer): Promise<FlatTree> {
  const rows = grad.length;
  const stride = binned.maxBins * 3;
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const addNode = () => {
    feature.push(-1);
    threshold.push(0);
    left.push(0);
    right.push(0);
    value.push(0);
    return feature.length - 1;
  };

  const histogram = async (start: number, end: number) => {
    const hist = new Float64Array(width * stride);
    const { bins } = binned;
    for (let k = start; k < end; k++) {
      const r = order[k]!;
      const g = grad[r]!;
      const h = hess[r]!;
      const base = r * width;
      for (let f = 0; f < width; f++) {
        const o = f * stride + bins[base + f]! * 3;
        hist[o]! += g;
        hist[o + 1]! += h;
        hist[o + 2]! += 1;
      }
      if ((k & 0xffff) === 0xffff) await pace.yieldIfDue();
    }
    return hist;
  };
  const score = (g: number, h: number) => (g * g) / (h + opts.l2);
  const bestSplit = (leaf: Omit<Leaf, "split">): Split | undefined => {
    const n = leaf.end - leaf.start;
    if (leaf.depth >= opts.maxDepth || n < 2 * opts.minSamplesLeaf) return undefined;
    const parent = score(leaf.g, leaf.h);
    let best: Split | undefined;
    for (let f = 0; f < width; f++) {
      const nb = binned.thresholds[f]!.length;
      let gl = 0;
      let hl = 0;
      let nl = 0;
      for (let b = 0; b < nb; b++) {
        const o = f * stride + b * 3;
        gl += leaf.hist[o]!;
        hl += leaf.hist[o + 1]!;
        nl += leaf.hist[o + 2]!;
        if (nl < opts.minSamplesLeaf || hl < MIN_CHILD_HESSIAN) continue;
        const nr = n - nl;
        const hr = leaf.h - hl;
        if (nr < opts.minSamplesLeaf || hr < MIN_CHILD_HESSIAN) break;
        const gain = score(gl, hl) + score(leaf.g - gl, hr) - parent;
        if (gain > 1e-12 && (!best || gain > best.gain)) best = { gain, feature: f, bin: b };
      }
    }
    return best;
  };
  const makeLeaf = (start: number, end: number, depth: number, hist: Float64Array): Leaf => {
    let g = 0;
    let h = 0;
    for (let b = 0; b < binned.maxBins; b++) {
      g += hist[b * 3]!; // feature 0's bins hold every row once
      h += hist[b * 3 + 1]!;
    }
    const leaf = { node: addNode(), start, end, depth, hist, g, h };
    return { ...leaf, split: bestSplit(leaf) };
  };

  for (let i = 0; i < rows; i++) order[i] = i;
  const open: Leaf[] = [makeLeaf(0, rows, 0, await histogram(0, rows))];
  while (open.length < opts.maxLeaves) {
    let pick = -1;
    for (let i = 0; i < open.length; i++) if (open[i]!.split && (pick < 0 || open[i]!.split!.gain > open[pick]!.split!.gain)) pick = i;
    if (pick < 0) break;
    const leaf = open.splice(pick, 1)[0]!;
    const { feature: f, bin } = leaf.split!;
    const mid = partition(order, leaf.start, leaf.end, binned.bins, width, f, bin);
    const smallIsLeft = mid - leaf.start <= leaf.end - mid;
    const small = smallIsLeft ? await histogram(leaf.start, mid) : await histogram(mid, leaf.end);
    const large = leaf.hist;
    for (let k = 0; k < large.length; k++) large[k] = large[k]! - small[k]!;
    const [lh, rh] = smallIsLeft ? [small, large] : [large, small];
    const l = makeLeaf(leaf.start, mid, leaf.depth + 1, lh);
    const r = makeLeaf(mid, leaf.end, leaf.depth + 1, rh);
    feature[leaf.node] = f;
    threshold[leaf.node] = binned.thresholds[f]![bin]!;
    left[leaf.node] = l.node;
    right[leaf.node] = r.node;
    open.push(l, r);
    await pace.yieldIfDue();
  }
  for (const leaf of open) {
    const v = Math.fround((-leaf.g / (leaf.h + opts.l2)) * opts.learningRate);
    value[leaf.node] = v;
    for (let k = leaf.start; k < leaf.end; k++) scores[order[k]!]! += v;
  }
  return { feature: Int32Array.from(feature), threshold: Float32Array.from(threshold), left: Int32Array.from(left), right: Int32Array.from(right), value: Float32Array.from(value) };
}

/** Reorders order[start, end) so rows with bin <= `bin` on `feature` come first; returns the cut. */
function partition(order: Uint32Array, start: number, end: number, bins: Uint8Array, width: number, feature: number, bin: number): number {
  let i = start;
  let j = end - 1;
  while (i <= j) {
    if (bins[order[i]! * width + feature]! <= bin) i++;
    else {
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
      j--;
    }
  }
  return i;
}

/** The leaf value a row reaches: `x <= threshold` goes left, exactly as ONNX's BRANCH_LEQ. */
export function leafValue(tree: FlatTree, x: Float32Array, offset: number): number {
  let node = 0;
  while (tree.feature[node]! >= 0) node = x[offset + tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  return tree.value[node]!;
}
