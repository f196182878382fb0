// A shard's upkeep as it ages, run by the cron when due: minute rollups older than two days fold
// into hours, older than 30 days into days (exact: rollups are sums), identities only needed for
// deduplication go after the redelivery horizon, feedback join rows after the feedback window,
// and the whole shard at its retention.
import { DAY_MS, type MaintenancePolicy, type MaintenanceResult } from "./shard-types.ts";

export const COMPACTION = { hourAfterMinutes: 2 * 1440, dayAfterMinutes: 30 * 1440 };

const TABLES = [
  { table: "counts", keys: "version, variant, shadow", sums: "sum(count), sum(errors), sum(latency_sum), max(latency_max)", update: "count = count + excluded.count, errors = errors + excluded.errors, latency_sum = latency_sum + excluded.latency_sum, latency_max = max(latency_max, excluded.latency_max)" },
  { table: "latency", keys: "version, variant, shadow, bucket", sums: "sum(count)", update: "count = count + excluded.count" },
  { table: "bins", keys: "version, feature, bin", sums: "sum(count)", update: "count = count + excluded.count" },
  {
    table: "quality",
    keys: "version, variant, bin",
    sums: "sum(n), sum(positives), sum(label_sum), sum(abs_error_sum), sum(sq_error_sum), sum(conflicts)",
    update: "n = n + excluded.n, positives = positives + excluded.positives, label_sum = label_sum + excluded.label_sum, abs_error_sum = abs_error_sum + excluded.abs_error_sum, sq_error_sum = sq_error_sum + excluded.sq_error_sum, conflicts = conflicts + excluded.conflicts",
  },
];

type Meta = (k: string) => SqlStorageValue | undefined;

/**
 * Where a new sum for minute `m` goes: once minutes before a cutoff have been compacted to hours
 * (or days), a late sum for them joins the aligned row instead of starting a minute row that no
 * later compaction would fold.
 */
export function aligner(meta: Meta): (minute: number) => number {
  const dayCutoff = Number(meta("day_cutoff") ?? 0);
  const hourCutoff = Number(meta("hour_cutoff") ?? 0);
  return (m) => (m < dayCutoff ? m - (m % 1440) : m < hourCutoff ? m - (m % 60) : m);
}

export function maintain(sql: SqlStorage, day: number, p: MaintenancePolicy, meta: Meta, setMeta: (k: string, v: SqlStorageValue) => void): MaintenanceResult {
  const dayStart = day * DAY_MS;
  const dayEnd = dayStart + DAY_MS;
  if (p.retentionMs > 0 && p.now >= dayEnd + p.retentionMs) return { next: null, deleted: true };
  const nowMinute = Math.floor(p.now / 60_000);
  for (const [size, after, key] of [[60, COMPACTION.hourAfterMinutes, "hour_cutoff"], [1440, COMPACTION.dayAfterMinutes, "day_cutoff"]] as const) {
    const cutoff = nowMinute - after;
    if (cutoff <= Number(meta(key) ?? 0)) continue;
    for (const t of TABLES) {
      // `size` is a constant: inlined so the division is an integer one.
      sql.exec(`INSERT INTO ${t.table} SELECT (t / ${size}) * ${size} AS aligned, ${t.keys}, ${t.sums} FROM ${t.table} WHERE t < ? AND t % ${size} != 0 GROUP BY aligned, ${t.keys} ON CONFLICT DO UPDATE SET ${t.update}`, cutoff);
      sql.exec(`DELETE FROM ${t.table} WHERE t < ? AND t % ${size} != 0`, cutoff);
    }
    setMeta(key, cutoff - (cutoff % size));
  }
  // Past the redelivery horizon no record of this day can come again: shadows and errors were
  // kept only to be recognised, and folds are refused from now on.
  if (p.now >= dayEnd + p.horizonMs && !meta("pruned")) {
    sql.exec("DELETE FROM predictions WHERE shadow = 1 OR error = 1");
    setMeta("pruned", 1);
  }
  if (p.now >= dayEnd + p.feedbackWindowMs && !meta("joins_dropped")) {
    sql.exec("DELETE FROM predictions");
    setMeta("joins_dropped", 1);
  }
  const dayEndMinute = dayEnd / 60_000;
  const milestones = [
    Number(meta("hour_cutoff") ?? 0) < dayEndMinute ? (dayEndMinute + COMPACTION.hourAfterMinutes) * 60_000 : Infinity,
    Number(meta("day_cutoff") ?? 0) < dayEndMinute ? (dayEndMinute + COMPACTION.dayAfterMinutes) * 60_000 : Infinity,
    meta("pruned") ? Infinity : dayEnd + p.horizonMs,
    meta("joins_dropped") ? Infinity : dayEnd + p.feedbackWindowMs,
    p.retentionMs > 0 ? dayEnd + p.retentionMs : Infinity,
  ];
  const next = Math.min(...milestones);
  return { next: Number.isFinite(next) ? Math.max(next, p.now + 60_000) : null, deleted: false };
}
