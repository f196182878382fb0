// Window metrics of one slice of a rollup (a version, a variant, primaries or shadows): traffic,
// errors, latency quantiles and labelled quality, as promotion rules and reports read them.
import { quantileMs } from "../latency.ts";
import type { VariantMetrics } from "../promotion.ts";
import { qualityMetrics, qualityOf, type Quality } from "./quality.ts";
import type { WindowRollup } from "./rollup.ts";

export interface Slice {
  version?: number | undefined;
  variant?: string | undefined;
  /** Shadows or primaries; primaries when absent. */
  shadow?: boolean | undefined;
}

export interface WindowMetrics extends VariantMetrics {
  error_rate: number;
  p50_ms: number | null;
  p95_ms: number | null;
  mean_ms: number | null;
  quality: Quality;
}

const inSlice = (s: Slice, r: { version: number; variant: string; shadow?: boolean }) =>
  (s.version === undefined || r.version === s.version) && (s.variant === undefined || r.variant === s.variant) && (r.shadow === undefined || r.shadow === (s.shadow ?? false));

export function windowMetrics(rollup: WindowRollup, slice: Slice): WindowMetrics {
  let samples = 0;
  let errors = 0;
  let latencySum = 0;
  let latencyMax = Number.NEGATIVE_INFINITY;
  for (const r of rollup.counts) {
    if (!inSlice(slice, r)) continue;
    samples += r.count;
    errors += r.errors;
    latencySum += r.latency_sum_ms;
    if (r.count > 0) latencyMax = Math.max(latencyMax, r.latency_max_ms);
  }
  const buckets = new Map<number, number>();
  for (const r of rollup.latency) if (inSlice(slice, r)) buckets.set(r.bucket, (buckets.get(r.bucket) ?? 0) + r.count);
  // Labels join primaries only: a shadow slice has no quality.
  const quality = qualityOf(slice.shadow ? [] : rollup.quality.filter((r) => inSlice(slice, r)));
  return {
    samples,
    errors,
    error_rate: samples ? errors / samples : 0,
    mean_ms: samples ? latencySum / samples : null,
    // Capped at the slice's exact max, so no quantile reads above the slowest request.
    p50_ms: quantileMs(buckets, 0.5, latencyMax),
    p95_ms: quantileMs(buckets, 0.95, latencyMax),
    p99_ms: quantileMs(buckets, 0.99, latencyMax),
    metrics: qualityMetrics(quality),
    quality,
  };
}
