// Adds up prediction log records bound for one rollup shard: per-minute sums (counts, latency
// buckets, drift bins) per version, variant and shadow flag, and one prediction row per record,
// which marks it counted and holds what feedback joins on. Plain data in, plain rows out: the
// consumer does this work (it scales out), and the shard only checks identities and adds sums.
import { binOf, DEFAULTED_BIN, INPUT_ISSUE_PREFIX, ownValue, latencyBucket, PREDICTION_FEATURE, type DriftReference, type LogRecord, type ReferenceHistogram } from "@verge/shared";

export { DEFAULTED_BIN, PREDICTION_FEATURE };

/** A version's drift reference prepared for binning many records: bin lookups without scans. */
export interface BinPlan {
  features: { name: string; bin: (value: unknown) => number | undefined; slots: number }[];
  prediction: ((value: number) => number | undefined) | null;
  predictionSlots: number;
}

export function binPlan(reference: DriftReference): BinPlan {
  return {
    features: Object.entries(reference.features).map(([name, h]) => ({ name, bin: binner(h), slots: slotsOf(h) })),
    prediction: reference.prediction ? binner(reference.prediction) : null,
    predictionSlots: reference.prediction ? slotsOf(reference.prediction) : 0,
  };
}

/** `binOf` for one histogram, with categories looked up in a map (first occurrence wins, as with `indexOf`). */
function binner(h: ReferenceHistogram): (value: unknown) => number | undefined {
  if ("edges" in h) return (value) => binOf(h, value);
  const index = new Map<string, number>();
  h.categories.forEach((c, i) => index.has(c) || index.set(c, i));
  const other = h.categories.length;
  return (value) => (value === null || value === undefined ? undefined : (index.get(String(value)) ?? other));
}

/** Counter slots per histogram: slot b + 1 counts bin b, so slot 0 is `DEFAULTED_BIN`. */
const slotsOf = (h: ReferenceHistogram) => ("edges" in h ? h.edges.length : h.categories.length) + 2;

/** One counted prediction: what it is (target = request id, `#position` for a row), and what feedback joins to. */
export type PredictionRow = [target: string, version: number, shadow: 0 | 1, minute: number, variant: string, error: 0 | 1, score: number | null];
export type CountsRow = [minute: number, version: number, variant: string, shadow: 0 | 1, count: number, errors: number, latencySumMs: number, latencyMaxMs: number];
export type LatencyRow = [minute: number, version: number, variant: string, shadow: 0 | 1, bucket: number, count: number];
/** Drift bins are per version, whatever the variant or shadow flag. */
export type BinsRow = [minute: number, version: number, feature: string, bin: number, count: number];

export interface ShardFold {
  predictions: PredictionRow[];
  counts: CountsRow[];
  latency: LatencyRow[];
  bins: BinsRow[];
}

interface Group {
  minute: number;
  version: number;
  variant: string;
  shadow: 0 | 1;
  count: number;
  errors: number;
  latencySumMs: number;
  latencyMaxMs: number;
  latency: Map<number, number>;
}

interface BinGroup {
  minute: number;
  version: number;
  plan: BinPlan;
  /** Per plan feature, then the prediction: counts by slot. */
  slots: Uint32Array[];
}

/** The identity a record is counted once under inside its shard (the model is the shard's). */
export const shardKey = (r: Pick<LogRecord, "request_id" | "version" | "shadow">) => `${r.version}|${r.shadow ? 1 : 0}|${r.request_id}`;

/** Adds up records (distinct identities) of one shard; each version binned on its plan (none: no drift bins). */
export function foldForShard(records: Iterable<LogRecord>, planOf: (version: number) => BinPlan | null): ShardFold {
  const groups = new Map<string, Group>();
  const binGroups = new Map<string, BinGroup>();
  const predictions: PredictionRow[] = [];
  const issues = new Map<string, BinsRow>();
  const countIssue = (minute: number, version: number, feature: string) => {
    const key = `${minute}|${version}|${feature}`;
    const row = issues.get(key);
    if (row) row[4]++;
    else issues.set(key, [minute, version, feature, 0, 1]);
  };
  for (const r of records) {
    const minute = Math.floor(r.ts / 60_000);
    const shadow = r.shadow ? 1 : 0;
    const groupKey = `${minute}|${r.version}|${shadow}|${r.variant}`;
    let g = groups.get(groupKey);
    if (!g) {
      g = { minute, version: r.version, variant: r.variant, shadow, count: 0, errors: 0, latencySumMs: 0, latencyMaxMs: 0, latency: new Map() };
      groups.set(groupKey, g);
    }
    const total = r.latency_ms.total;
    const error = r.status === "ok" ? 0 : 1;
    g.count++;
    g.errors += error;
    g.latencySumMs += total;
    g.latencyMaxMs = Math.max(g.latencyMaxMs, total);
    const bucket = latencyBucket(total);
    g.latency.set(bucket, (g.latency.get(bucket) ?? 0) + 1);
    const score = scoreOf(r);
    const plan = planOf(r.version);
    if (plan) {
      const binKey = `${minute}|${r.version}`;
      let b = binGroups.get(binKey);
      if (!b) {
        const slots = plan.features.map((f) => new Uint32Array(f.slots));
        if (plan.prediction) slots.push(new Uint32Array(plan.predictionSlots));
        b = { minute, version: r.version, plan, slots };
        binGroups.set(binKey, b);
      }
      addBins(plan, b.slots, r, score);
    }
    for (const name of r.unknown_features ?? []) countIssue(minute, r.version, INPUT_ISSUE_PREFIX.unknown_feature + name);
    for (const name of r.out_of_vocabulary ?? []) countIssue(minute, r.version, INPUT_ISSUE_PREFIX.out_of_vocabulary + name);
    predictions.push([r.request_id, r.version, shadow, minute, r.variant, error, score]);
  }
  const counts: CountsRow[] = [];
  const latency: LatencyRow[] = [];
  for (const g of groups.values()) {
    counts.push([g.minute, g.version, g.variant, g.shadow, g.count, g.errors, g.latencySumMs, g.latencyMaxMs]);
    for (const [bucket, n] of g.latency) latency.push([g.minute, g.version, g.variant, g.shadow, bucket, n]);
  }
  const bins: BinsRow[] = [];
  for (const b of binGroups.values()) {
    const features = [...b.plan.features.map((f) => f.name), PREDICTION_FEATURE];
    b.slots.forEach((bySlot, i) =>
      bySlot.forEach((n, slot) => {
        if (n > 0) bins.push([b.minute, b.version, features[i]!, slot - 1, n]);
      }),
    );
  }
  bins.push(...issues.values());
  return { predictions, counts, latency, bins };
}

function addBins(plan: BinPlan, bins: Uint32Array[], r: LogRecord, score: number | null): void {
  const { features } = plan;
  for (let i = 0; i < features.length; i++) {
    const f = features[i]!;
    if (r.degraded.length > 0 && r.degraded.some((x) => x.feature === f.name)) {
      bins[i]![DEFAULTED_BIN + 1]!++;
      continue;
    }
    const bin = f.bin(ownValue(r.features, f.name));
    if (bin !== undefined) bins[i]![bin + 1]!++;
  }
  if (plan.prediction && score !== null) {
    const bin = plan.prediction(score);
    if (bin !== undefined) bins[features.length]![bin + 1]!++;
  }
}

/** The record's score: its first output (the last class's value for a vector output). */
export function scoreOf(r: LogRecord): number | null {
  const first = Object.values(r.outputs)[0];
  const v = typeof first === "number" ? first : first?.at(-1);
  return v === undefined || !Number.isFinite(v) ? null : v;
}
