// The rollup interface that promotion rules, guardrails and reports read: windowed sums and
// latency quantiles per model, version, variant and shadow flag. Cost grows with bins, not traffic.
import { and, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { quantileMs, type VariantMetrics } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { rollupLatency, rollups } from "../db/schema.ts";

export interface Selector {
  model: string;
  version?: number;
  variant?: string;
  shadow?: boolean;
  fromMs: number;
  toMs: number;
}

export interface WindowMetrics extends VariantMetrics {
  error_rate: number;
  p50_ms: number | null;
  p95_ms: number | null;
  mean_ms: number | null;
}


function filters(s: Selector, t: typeof rollups | typeof rollupLatency): SQL[] {
  const f: SQL[] = [eq(t.model, s.model), gte(t.minute, Math.floor(s.fromMs / 60_000)), lt(t.minute, Math.ceil(s.toMs / 60_000))];
  if (s.version !== undefined) f.push(eq(t.version, s.version));
  if (s.variant !== undefined) f.push(eq(t.variant, s.variant));
  f.push(eq(t.shadow, s.shadow ? 1 : 0));
  return f;
}

export async function windowMetrics(d: Db, s: Selector): Promise<WindowMetrics> {
  const [[sum], hist] = await d.batch([
    d
      .select({
        count: sql<number>`coalesce(sum(${rollups.count}), 0)`,
        errors: sql<number>`coalesce(sum(${rollups.errors}), 0)`,
        latencySum: sql<number>`coalesce(sum(${rollups.latencySumMs}), 0)`,
      })
      .from(rollups)
      .where(and(...filters(s, rollups))),
    d
      .select({ bucket: rollupLatency.bucket, count: sql<number>`sum(${rollupLatency.count})` })
      .from(rollupLatency)
      .where(and(...filters(s, rollupLatency)))
      .groupBy(rollupLatency.bucket),
  ]);
  const buckets = hist.map((h) => [h.bucket, h.count] as [number, number]);
  const n = sum?.count ?? 0;
  return {
    samples: n,
    errors: sum?.errors ?? 0,
    error_rate: n ? (sum?.errors ?? 0) / n : 0,
    mean_ms: n ? (sum?.latencySum ?? 0) / n : null,
    p50_ms: quantileMs(buckets, 0.5),
    p95_ms: quantileMs(buckets, 0.95),
    p99_ms: quantileMs(buckets, 0.99),
    metrics: {},
  };
}

