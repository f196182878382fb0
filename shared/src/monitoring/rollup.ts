// What a rollup shard answers for a window, and how answers from many shards merge: every field
// is a sum (or a max), so merging is exact whatever the sharding.

/** Traffic sums of one group: version, variant, shadow flag and time step (`t`, minutes since the epoch; 0 without a step). */
export interface CountRow {
  t: number;
  version: number;
  variant: string;
  shadow: boolean;
  count: number;
  errors: number;
  latency_sum_ms: number;
  latency_max_ms: number;
}

/** One bucket of a group's log-spaced latency histogram (see latency.ts). */
export interface LatencyRow {
  t: number;
  version: number;
  variant: string;
  shadow: boolean;
  bucket: number;
  count: number;
}

/** One bin of a version's feature (or `__prediction__`) histogram; bin -1 counts defaulted values. */
export interface BinRow {
  version: number;
  feature: string;
  bin: number;
  count: number;
}

/**
 * Labelled predictions (not shadows) by the prediction's time, version, variant and score bin
 * (bin -1: no numeric score). `positives` counts labels ≥ 0.5; the error sums are of score − label.
 */
export interface QualityRow {
  t: number;
  version: number;
  variant: string;
  bin: number;
  n: number;
  positives: number;
  label_sum: number;
  abs_error_sum: number;
  sq_error_sum: number;
  /** Later labels that disagreed with the first one (which stands); not counted in `n`. */
  conflicts: number;
}

export interface WindowRollup {
  counts: CountRow[];
  latency: LatencyRow[];
  bins: BinRow[];
  quality: QualityRow[];
}

export const emptyRollup = (): WindowRollup => ({ counts: [], latency: [], bins: [], quality: [] });

/** Sums the answers of several shards (or windows) into one. */
export function mergeRollups(parts: readonly WindowRollup[]): WindowRollup {
  const counts = new Map<string, CountRow>();
  const latency = new Map<string, LatencyRow>();
  const bins = new Map<string, BinRow>();
  const quality = new Map<string, QualityRow>();
  for (const p of parts) {
    for (const r of p.counts) {
      const k = `${r.t}|${r.version}|${r.shadow}|${r.variant}`;
      const m = counts.get(k);
      if (!m) counts.set(k, { ...r });
      else {
        m.count += r.count;
        m.errors += r.errors;
        m.latency_sum_ms += r.latency_sum_ms;
        m.latency_max_ms = Math.max(m.latency_max_ms, r.latency_max_ms);
      }
    }
    for (const r of p.latency) add(latency, `${r.t}|${r.version}|${r.shadow}|${r.bucket}|${r.variant}`, r, ["count"]);
    for (const r of p.bins) add(bins, `${r.version}|${r.bin}|${r.feature}`, r, ["count"]);
    for (const r of p.quality) add(quality, `${r.t}|${r.version}|${r.bin}|${r.variant}`, r, ["n", "positives", "label_sum", "abs_error_sum", "sq_error_sum", "conflicts"]);
  }
  const byTime = <T extends { t: number }>(rows: T[]) => rows.sort((a, b) => a.t - b.t);
  return { counts: byTime([...counts.values()]), latency: [...latency.values()], bins: [...bins.values()], quality: byTime([...quality.values()]) };
}

function add<T>(into: Map<string, T>, key: string, row: T, fields: readonly (keyof T & string)[]): void {
  const m = into.get(key);
  if (!m) {
    into.set(key, { ...row });
    return;
  }
  for (const f of fields) (m[f] as number) += row[f] as number;
}
