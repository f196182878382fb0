// Rollups merge exactly however they are sharded; quality, guardrails and window metrics are pure
// functions of the merged sums, checked against direct computation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { latencyBucket, quantileMs } from "../src/latency.ts";
import { guardrailBreaches } from "../src/monitoring/guardrails.ts";
import { windowMetrics } from "../src/monitoring/metrics.ts";
import { qualityOf, scoreBin } from "../src/monitoring/quality.ts";
import { emptyRollup, mergeRollups, type WindowRollup } from "../src/monitoring/rollup.ts";
import { decidePromotion, promotionRuleSchema } from "../src/promotion.ts";

interface Prediction {
  minute: number;
  version: number;
  variant: string;
  shadow: boolean;
  error: boolean;
  latency: number;
  score: number;
  label: number | null;
}

const prediction = fc.record({
  minute: fc.integer({ min: 0, max: 5 }),
  version: fc.integer({ min: 1, max: 2 }),
  variant: fc.constantFrom("a", "b"),
  shadow: fc.boolean(),
  error: fc.boolean(),
  latency: fc.double({ min: 0, max: 500, noNaN: true }),
  score: fc.double({ min: 0, max: 1, noNaN: true }),
  label: fc.option(fc.constantFrom(0, 1), { nil: null }),
});

/** What one shard would answer for these predictions: each group summed with plain loops (no mergeRollups). */
function shardAnswer(ps: readonly Prediction[]): WindowRollup {
  const counts = new Map<string, WindowRollup["counts"][number]>();
  const latency = new Map<string, WindowRollup["latency"][number]>();
  const bins = new Map<string, WindowRollup["bins"][number]>();
  const quality = new Map<string, WindowRollup["quality"][number]>();
  for (const p of ps) {
    const g = `${p.minute}|${p.version}|${p.variant}|${p.shadow}`;
    const c = counts.get(g) ?? { t: p.minute, version: p.version, variant: p.variant, shadow: p.shadow, count: 0, errors: 0, latency_sum_ms: 0, latency_max_ms: 0 };
    c.count += 1;
    c.errors += p.error ? 1 : 0;
    c.latency_sum_ms += p.latency;
    c.latency_max_ms = Math.max(c.latency_max_ms, p.latency);
    counts.set(g, c);
    const bucket = latencyBucket(p.latency);
    const l = latency.get(`${g}|${bucket}`) ?? { t: p.minute, version: p.version, variant: p.variant, shadow: p.shadow, bucket, count: 0 };
    l.count += 1;
    latency.set(`${g}|${bucket}`, l);
    const bin = Math.floor(p.score * 4);
    const b = bins.get(`${p.version}|${bin}`) ?? { version: p.version, feature: "x", bin, count: 0 };
    b.count += 1;
    bins.set(`${p.version}|${bin}`, b);
    if (p.label === null || p.shadow || p.error) continue;
    const sb = scoreBin(p.score);
    const q = quality.get(`${p.minute}|${p.version}|${p.variant}|${sb}`) ?? { t: p.minute, version: p.version, variant: p.variant, bin: sb, n: 0, positives: 0, label_sum: 0, abs_error_sum: 0, sq_error_sum: 0, conflicts: 0 };
    q.n += 1;
    q.positives += p.label;
    q.label_sum += p.label;
    q.abs_error_sum += Math.abs(p.score - p.label);
    q.sq_error_sum += (p.score - p.label) ** 2;
    quality.set(`${p.minute}|${p.version}|${p.variant}|${sb}`, q);
  }
  return { counts: [...counts.values()], latency: [...latency.values()], bins: [...bins.values()], quality: [...quality.values()] };
}

/** Rows rounded (sums of floats depend on order) and sorted (merge order is not part of the contract). */
const canonical = (r: WindowRollup) => {
  const rounded = JSON.parse(JSON.stringify(r, (_, v: unknown) => (typeof v === "number" ? Math.round(v * 1e6) / 1e6 : v))) as Record<string, unknown[]>;
  return Object.fromEntries(Object.entries(rounded).map(([k, rows]) => [k, rows.map((x) => JSON.stringify(x)).sort()]));
};

describe("mergeRollups", () => {
  it("gives the same sums whatever the sharding: merging shards' answers equals one shard holding everything", () => {
    fc.assert(
      fc.property(fc.array(prediction, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 60 }), (ps, shardOf) => {
        const shards: Prediction[][] = [[], [], [], []];
        ps.forEach((p, i) => shards[shardOf[i] ?? 0]!.push(p));
        const merged = mergeRollups(shards.map(shardAnswer));
        expect(canonical(merged)).toEqual(canonical(shardAnswer(ps)));
        // Merging an answer with nothing, or with itself split in two, changes no sum.
        expect(canonical(mergeRollups([merged, emptyRollup()]))).toEqual(canonical(merged));
      }),
    );
  });

  it("is empty for no parts", () => {
    expect(mergeRollups([])).toEqual(emptyRollup());
  });
});

describe("windowMetrics", () => {
  it("matches direct computation over the slice's predictions", () => {
    fc.assert(
      fc.property(fc.array(prediction, { minLength: 1, maxLength: 80 }), fc.constantFrom("a", "b"), (ps, variant) => {
        const m = windowMetrics(shardAnswer(ps), { variant });
        const mine = ps.filter((p) => p.variant === variant && !p.shadow);
        expect(m.samples).toBe(mine.length);
        expect(m.errors).toBe(mine.filter((p) => p.error).length);
        const buckets = new Map<number, number>();
        for (const p of mine) buckets.set(latencyBucket(p.latency), (buckets.get(latencyBucket(p.latency)) ?? 0) + 1);
        const max = mine.length ? Math.max(...mine.map((p) => p.latency)) : undefined;
        expect(m.p99_ms).toBe(quantileMs(buckets, 0.99, max));
        // No quantile reads above the slowest request of the slice.
        if (max !== undefined) for (const q of [m.p50_ms, m.p95_ms, m.p99_ms]) expect(q!).toBeLessThanOrEqual(max);
        const labelled = mine.filter((p) => p.label !== null && !p.error);
        expect(m.quality.n).toBe(labelled.length);
        if (labelled.length) {
          expect(m.metrics.positive_rate).toBeCloseTo(labelled.filter((p) => p.label === 1).length / labelled.length, 9);
          expect(m.metrics.mae).toBeCloseTo(labelled.reduce((s, p) => s + Math.abs(p.score - p.label!), 0) / labelled.length, 9);
          // Accuracy judges each score by its bin's centre: the same as thresholding at 0.5.
          expect(m.metrics.accuracy).toBeCloseTo(labelled.filter((p) => (p.score >= 0.5 ? 1 : 0) === p.label).length / labelled.length, 9);
        } else expect(m.metrics).toEqual({ labels: 0 });
      }),
    );
  });
});

describe("quality", () => {
  it("counts conflicting second labels apart from the labels that stand", () => {
    const q = qualityOf([
      { t: 0, version: 1, variant: "a", bin: 90, n: 2, positives: 2, label_sum: 2, abs_error_sum: 0.2, sq_error_sum: 0.02, conflicts: 0 },
      { t: 0, version: 1, variant: "a", bin: 90, n: 0, positives: 0, label_sum: 0, abs_error_sum: 0, sq_error_sum: 0, conflicts: 1 },
    ]);
    expect(q).toMatchObject({ n: 2, conflicts: 1, accuracy: 1, positive_rate: 1 });
  });
});

describe("guardrails", () => {
  const g = { max_error_rate: 0.05, max_p99_ms: 200, min_samples: 50 };

  it("break when, with enough samples, the error rate or p99 is above its limit, and only then", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 500 }), fc.option(fc.double({ min: 0, max: 400, noNaN: true }), { nil: null }), (samples, e, p99) => {
        const errors = Math.min(samples, e);
        const judged = samples >= g.min_samples && samples > 0;
        const expected = [...(judged && errors / samples > g.max_error_rate ? ["error_rate"] : []), ...(judged && p99 !== null && p99 > g.max_p99_ms ? ["p99"] : [])];
        expect(guardrailBreaches(g, { samples, errors, p99_ms: p99 }).map((b) => b.guardrail)).toEqual(expected);
      }),
    );
    expect(guardrailBreaches(g, { samples: 50, errors: 3, p99_ms: 10 })).toEqual([{ guardrail: "error_rate", value: 0.06, max: 0.05, samples: 50 }]);
    expect(guardrailBreaches(g, { samples: 49, errors: 49, p99_ms: 1000 })).toEqual([]);
  });

  it("are the ones promotion decisions roll back on", () => {
    const rule = promotionRuleSchema.parse({ min_samples: 0, min_duration_s: 0, guardrails: g });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 500 }), fc.option(fc.double({ min: 0, max: 400, noNaN: true }), { nil: null }), (samples, e, p99) => {
        const errors = Math.min(samples, e);
        const breaches = guardrailBreaches(g, { samples, errors, p99_ms: p99 });
        const decision = decidePromotion(rule, { candidate: { samples, errors, p99_ms: p99, metrics: {} }, baseline: null, elapsed_s: 1, drift_alert: false });
        expect(decision.action === "rollback").toBe(breaches.length > 0);
        if (samples < g.min_samples) expect(breaches).toEqual([]);
      }),
    );
  });
});
