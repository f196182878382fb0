// The drift baseline stored with a new version: per feature and for the prediction, counts in the
// bins the control plane's rollups will use for live traffic (`binOf` from shared, so a value
// lands in the same bin on both sides). Missing values are left out, as rollups count defaulted
// features apart from the histogram.
import { binOf, emptyRecord, ownValue, type DriftReference, type FeatureSpec, type RawRow, type ReferenceHistogram } from "@verge/shared";

/** Numeric features are cut into this many bins by training quantiles (fewer when values repeat). */
export const REFERENCE_BINS = 10;

export function referenceHistograms(spec: Pick<FeatureSpec, "features">, rows: readonly RawRow[], predictions?: ArrayLike<number>, bins = REFERENCE_BINS): DriftReference {
  const features = emptyRecord<ReferenceHistogram>();
  for (const f of spec.features) {
    const present = rows.map((r) => ownValue(r, f.name)).filter((v) => v !== null && v !== undefined);
    if (f.type === "number") {
      const values = present.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
      const h = numericHistogram(values, bins);
      if (h) features[f.name] = h;
    } else {
      // Booleans bin as the strings "false"/"true": binOf compares String(value) with the categories.
      features[f.name] = categoricalHistogram(f.type === "boolean" ? ["false", "true"] : f.vocabulary, present);
    }
  }
  const prediction = predictions ? numericHistogram(scores(predictions, rows.length).filter(Number.isFinite), bins) : undefined;
  return { features, ...(prediction ? { prediction } : {}) };
}

/**
 * One score per row, as the rollups take it from a logged prediction (`scoreOf`): the value of a
 * scalar output, or the last class's value of a vector output (`rows × k` values, row-major).
 */
export function scores(predictions: ArrayLike<number>, rows: number): number[] {
  const k = rows > 0 && predictions.length % rows === 0 ? predictions.length / rows : 1;
  if (k <= 1) return Array.from(predictions);
  return Array.from({ length: rows }, (_, r) => predictions[r * k + k - 1]!);
}

/** Counts on quantile edges of the values; undefined when there are none. */
export function numericHistogram(values: readonly number[], bins = REFERENCE_BINS): ReferenceHistogram | undefined {
  if (values.length === 0) return undefined;
  const edges = quantileEdges(values, bins);
  return countOn({ edges }, values);
}

export function categoricalHistogram(categories: readonly string[], values: readonly unknown[]): ReferenceHistogram {
  return countOn({ categories: [...categories] }, values);
}

/**
 * Edges that strictly increase. A feature with fewer distinct values than bins (a flag, a small
 * count, a constant) gets one edge per value, so each value has its own bin and a shift between
 * them shows; otherwise `bins − 1` edges at the training quantiles (nearest rank), deduplicated.
 */
export function quantileEdges(values: readonly number[], bins = REFERENCE_BINS): number[] {
  if (!Number.isInteger(bins) || bins < 2 || bins > 257) throw new RangeError(`bins must be an integer in 2..257, got ${bins}`);
  const sorted = [...values].sort((a, b) => a - b);
  const distinct = sorted.filter((v, i) => i === 0 || v > sorted[i - 1]!);
  if (distinct.length < bins) return distinct;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const q = sorted[Math.min(sorted.length - 1, Math.floor((k * sorted.length) / bins))]!;
    if (edges.length === 0 || q > edges.at(-1)!) edges.push(q);
  }
  return edges;
}

/** Counts values into a histogram's bins with the rollups' own rule (`binOf`). */
export function countOn<H extends { edges: number[] } | { categories: string[] }>(h: H, values: readonly unknown[]): H & { counts: number[] } {
  const counts = new Array<number>(("edges" in h ? h.edges.length : h.categories.length) + 1).fill(0);
  for (const v of values) {
    const bin = binOf(h, v);
    if (bin !== undefined) counts[bin]! += 1;
  }
  return { ...h, counts };
}
