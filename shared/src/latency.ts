// Log-spaced latency histograms: mergeable by adding counts, quantiles read from the buckets.

/** Bucket b holds latencies in [GROWTH^(b-1) - 1, GROWTH^b - 1) ms: 10% relative resolution. */
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);

export function latencyBucket(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.ceil(Math.log(ms + 1) / LOG_GROWTH);
}

/** The upper edge of a bucket in ms. */
export function bucketUpperMs(bucket: number): number {
  return GROWTH ** bucket - 1;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, as the upper edge of the bucket where the
 * cumulative count reaches q: an overestimate by at most one bucket (10%). With the exact
 * maximum of the same samples (`maxMs`), the answer is capped there: no sample lies above it,
 * so a bucket edge past it would report a quantile above the reported max.
 */
export function quantileMs(buckets: ReadonlyMap<number, number> | readonly [number, number][], q: number, maxMs?: number): number | null {
  const upper = bucketQuantileMs(buckets, q);
  return upper === null || maxMs === undefined || !Number.isFinite(maxMs) ? upper : Math.min(upper, maxMs);
}

function bucketQuantileMs(buckets: ReadonlyMap<number, number> | readonly [number, number][], q: number): number | null {
  const entries = [...(buckets instanceof Map ? buckets.entries() : buckets)].sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const target = q * total;
  let seen = 0;
  for (const [bucket, n] of entries) {
    seen += n;
    if (seen >= target) return bucketUpperMs(bucket);
  }
  return bucketUpperMs(entries.at(-1)![0]);
}
