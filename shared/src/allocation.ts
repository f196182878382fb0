// Traffic allocations: bucket ranges [start, end) covering [0, 10000) exactly once, per variant.
import { BUCKETS } from "./bucketing.ts";

/** `[start, end, variant]`: buckets start..end-1 go to `variant`. */
export type AllocationRange = readonly [start: number, end: number, variant: string];
export type Allocation = readonly AllocationRange[];

export interface VariantWeight {
  name: string;
  /** Basis points; all weights sum to 10000. */
  weight: number;
}

/** A fresh allocation: contiguous ranges in variant order. */
export function compileAllocation(weights: readonly VariantWeight[]): Allocation {
  assertWeights(weights);
  const ranges: AllocationRange[] = [];
  let start = 0;
  for (const { name, weight } of weights) {
    if (weight > 0) ranges.push([start, start + weight, name]);
    start += weight;
  }
  return ranges;
}

/**
 * Re-weights an allocation moving only the buckets that must move: each shrinking variant keeps
 * the lowest buckets it already had, and the buckets it gives up go to the growing variants.
 * The share of buckets that change variant equals the sum of the positive weight changes.
 */
export function reweightAllocation(previous: Allocation, weights: readonly VariantWeight[]): Allocation {
  assertWeights(weights);
  const target = new Map(weights.map((w) => [w.name, w.weight]));
  const owner = ownerArray(previous);
  const kept = new Map<string, number>();
  const freed: number[] = [];
  for (let b = 0; b < BUCKETS; b++) {
    const v = owner[b] as string;
    const have = kept.get(v) ?? 0;
    if (have < (target.get(v) ?? 0)) kept.set(v, have + 1);
    else freed.push(b);
  }
  let next = 0;
  for (const { name, weight } of weights) {
    for (let need = weight - (kept.get(name) ?? 0); need > 0; need--) {
      owner[freed[next++] as number] = name;
    }
  }
  return rangesOf(owner);
}

/** The variant that owns a bucket. */
export function variantForBucket(allocation: Allocation, bucket: number): string {
  let lo = 0;
  let hi = allocation.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const range = allocation[mid] as AllocationRange;
    if (bucket < range[0]) hi = mid - 1;
    else if (bucket >= range[1]) lo = mid + 1;
    else return range[2];
  }
  throw new RangeError(`bucket ${bucket} is not covered by the allocation`);
}

/** Throws unless the ranges are sorted, contiguous and cover [0, 10000) exactly once. */
export function assertCovers(allocation: Allocation): void {
  let expect = 0;
  for (const [start, end] of allocation) {
    if (start !== expect || end <= start) throw new RangeError(`allocation gap or overlap at ${expect}`);
    expect = end;
  }
  if (expect !== BUCKETS) throw new RangeError(`allocation ends at ${expect}, not ${BUCKETS}`);
}

/** Buckets per variant. */
export function sharesOf(allocation: Allocation): Map<string, number> {
  const shares = new Map<string, number>();
  for (const [start, end, v] of allocation) shares.set(v, (shares.get(v) ?? 0) + end - start);
  return shares;
}

function assertWeights(weights: readonly VariantWeight[]): void {
  const total = weights.reduce((sum, w) => sum + w.weight, 0);
  if (total !== BUCKETS) throw new RangeError(`weights sum to ${total}, not ${BUCKETS}`);
  if (new Set(weights.map((w) => w.name)).size !== weights.length) throw new RangeError("variant names repeat");
}

function ownerArray(allocation: Allocation): string[] {
  assertCovers(allocation);
  const owner = new Array<string>(BUCKETS);
  for (const [start, end, v] of allocation) owner.fill(v, start, end);
  return owner;
}

function rangesOf(owner: readonly string[]): Allocation {
  const ranges: AllocationRange[] = [];
  let start = 0;
  for (let b = 1; b <= BUCKETS; b++) {
    if (b === BUCKETS || owner[b] !== owner[start]) {
      ranges.push([start, b, owner[start] as string]);
      start = b;
    }
  }
  return ranges;
}
