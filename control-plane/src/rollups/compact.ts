// Compaction and retention: minute windows older than two days fold into hours, older than 30
// days into days. Windows are sums, so folding is exact: each step adds the unaligned rows into
// the aligned one and deletes them, in one atomic batch. The dedup store keeps only its window.
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { ingested, rollupBins, rollupLatency, rollups } from "../db/schema.ts";

export const COMPACTION = { hourAfterMinutes: 2 * 1440, dayAfterMinutes: 30 * 1440 };

export async function compact(d: Db, now: number, ingestedRetentionDays: number): Promise<void> {
  const minuteNow = Math.floor(now / 60_000);
  const steps = [
    { size: 60, cutoff: minuteNow - COMPACTION.hourAfterMinutes },
    { size: 1440, cutoff: minuteNow - COMPACTION.dayAfterMinutes },
  ];
  for (const { size: n, cutoff } of steps) {
    // Inlined, not bound: D1 binds JS numbers as REAL, and `minute / 60.0` is not integer division.
    const size = sql.raw(String(n));
    const old = sql`minute < ${cutoff} AND minute % ${size} != 0`;
    await d.batch([
      d.insert(rollups).select(sql`
        SELECT (minute / ${size}) * ${size} AS m, model, version, variant, shadow, sum(count), sum(errors), sum(latency_sum_ms), max(latency_max_ms)
        FROM ${rollups} WHERE ${old} GROUP BY m, model, version, variant, shadow
        ON CONFLICT (model, version, variant, shadow, minute) DO UPDATE SET
          count = ${rollups.count} + excluded.count, errors = ${rollups.errors} + excluded.errors,
          latency_sum_ms = ${rollups.latencySumMs} + excluded.latency_sum_ms, latency_max_ms = max(${rollups.latencyMaxMs}, excluded.latency_max_ms)`),
      d.delete(rollups).where(old),
      d.insert(rollupLatency).select(sql`
        SELECT (minute / ${size}) * ${size} AS m, model, version, variant, shadow, bucket, sum(count)
        FROM ${rollupLatency} WHERE ${old} GROUP BY m, model, version, variant, shadow, bucket
        ON CONFLICT (model, version, variant, shadow, minute, bucket) DO UPDATE SET count = ${rollupLatency.count} + excluded.count`),
      d.delete(rollupLatency).where(old),
      d.insert(rollupBins).select(sql`
        SELECT (minute / ${size}) * ${size} AS m, model, version, variant, shadow, feature, bin, sum(count)
        FROM ${rollupBins} WHERE ${old} GROUP BY m, model, version, variant, shadow, feature, bin
        ON CONFLICT (model, version, feature, minute, variant, shadow, bin) DO UPDATE SET count = ${rollupBins.count} + excluded.count`),
      d.delete(rollupBins).where(old),
    ]);
  }
  // Redeliveries come within hours and feedback within the retention window; older identities go.
  await d.delete(ingested).where(sql`minute < ${minuteNow - ingestedRetentionDays * 1440}`);
}
