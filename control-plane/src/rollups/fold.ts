// Adds up prediction log records into per-minute sums — counts, latency buckets and drift bins per
// (minute, model, version, variant, shadow) — and the identity rows that mark them counted.
// Plain data in, plain rows out: the consumer writes them in one D1 batch.
import { binOf, latencyBucket, type DriftReference, type LogRecord, type ReferenceHistogram } from "@verge/shared";

export const PREDICTION_FEATURE = "__prediction__";
export const DEFAULTED_BIN = -1;

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

interface Group {
  minute: number;
  model: string;
  version: number;
  variant: string;
  shadow: number;
  count: number;
  errors: number;
  latencySumMs: number;
  latencyMaxMs: number;
  latency: Map<number, number>;
  plan: BinPlan | null;
  /** Per plan feature, then the prediction: counts by slot. */
  bins: Uint32Array[];
}

/** One record's identity row: key, minute, model, version, variant, shadow, error, latency, bucket, request id, score. */
export type IngestedRow = [string, number, string, number, string, number, number, number, number, string, number | null];

export interface Fold {
  groups: Map<string, Group>;
  ingested: IngestedRow[];
}

export const emptyFold = (): Fold => ({ groups: new Map(), ingested: [] });

/** Adds one record, counted under `key`, binned on its version's plan (none: no drift bins). */
export function addRecord(fold: Fold, key: string, r: LogRecord, planOf: (model: string, version: number) => BinPlan | null): void {
  const minute = Math.floor(r.ts / 60_000);
  const shadow = r.shadow ? 1 : 0;
  const groupKey = `${minute}|${r.model}|${r.version}|${r.variant}|${shadow}`;
  let g = fold.groups.get(groupKey);
  if (!g) {
    const plan = planOf(r.model, r.version);
    const bins = plan ? plan.features.map((f) => new Uint32Array(f.slots)) : [];
    if (plan?.prediction) bins.push(new Uint32Array(plan.predictionSlots));
    g = { minute, model: r.model, version: r.version, variant: r.variant, shadow, count: 0, errors: 0, latencySumMs: 0, latencyMaxMs: 0, latency: new Map(), plan, bins };
    fold.groups.set(groupKey, g);
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
  if (g.plan) addBins(g.plan, g.bins, r, score);
  fold.ingested.push([key, minute, r.model, r.version, r.variant, shadow, error, total, bucket, r.request_id, score]);
}

function addBins(plan: BinPlan, bins: Uint32Array[], r: LogRecord, score: number | null): void {
  const { features } = plan;
  for (let i = 0; i < features.length; i++) {
    const f = features[i]!;
    if (r.degraded.length > 0 && r.degraded.some((x) => x.feature === f.name)) {
      bins[i]![DEFAULTED_BIN + 1]!++;
      continue;
    }
    const bin = f.bin(r.features[f.name]);
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

type Dims = Pick<Group, "minute" | "model" | "version" | "variant" | "shadow">;

/** The fold's sums as rows for the `rollups`, `rollup_latency` and `rollup_bins` upserts. */
export function foldRows(fold: Fold) {
  const counts: (Dims & { count: number; errors: number; latencySumMs: number; latencyMaxMs: number })[] = [];
  const latency: (Dims & { bucket: number; count: number })[] = [];
  const bins: (Dims & { feature: string; bin: number; count: number })[] = [];
  for (const { latency: buckets, plan, bins: slots, count, errors, latencySumMs, latencyMaxMs, ...dims } of fold.groups.values()) {
    counts.push({ ...dims, count, errors, latencySumMs, latencyMaxMs });
    for (const [bucket, n] of buckets) latency.push({ ...dims, bucket, count: n });
    const features = plan ? [...plan.features.map((f) => f.name), PREDICTION_FEATURE] : [];
    slots.forEach((bySlot, i) =>
      bySlot.forEach((n, slot) => {
        if (n > 0) bins.push({ ...dims, feature: features[i]!, bin: slot - 1, count: n });
      }),
    );
  }
  return { counts, latency, bins };
}
