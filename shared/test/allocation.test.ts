import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertCovers, compileAllocation, reweightAllocation, sharesOf, variantForBucket, type Allocation } from "../src/allocation.ts";
import { BUCKETS, bucketOf } from "../src/bucketing.ts";

/** Arbitrary weights in basis points over 1–6 variants, summing to 10000. */
const weightsArb = (names = ["a", "b", "c", "d", "e", "f"]) =>
  fc.integer({ min: 1, max: names.length }).chain((n) =>
    fc.array(fc.integer({ min: 0, max: BUCKETS }), { minLength: n - 1, maxLength: n - 1 }).map((cuts) => {
      const sorted = [0, ...cuts.sort((x, y) => x - y), BUCKETS];
      return names.slice(0, n).map((name, i) => ({ name, weight: sorted[i + 1]! - sorted[i]! }));
    }),
  );

const owners = (a: Allocation) => Array.from({ length: BUCKETS }, (_, b) => variantForBucket(a, b));

describe("allocations", () => {
  it("cover [0, 10000) exactly once with each variant's weight", () => {
    fc.assert(
      fc.property(weightsArb(), (weights) => {
        const a = compileAllocation(weights);
        assertCovers(a);
        for (const w of weights) expect(sharesOf(a).get(w.name) ?? 0).toBe(w.weight);
      }),
    );
  });

  it("preserve mode moves exactly the sum of the positive weight changes", () => {
    fc.assert(
      fc.property(weightsArb(), weightsArb(), (before, after) => {
        const prev = compileAllocation(before);
        const next = reweightAllocation(prev, after);
        assertCovers(next);
        for (const w of after) expect(sharesOf(next).get(w.name) ?? 0).toBe(w.weight);
        const was = owners(prev);
        const now = owners(next);
        const moved = now.filter((v, b) => v !== was[b]).length;
        const old = new Map(before.map((w) => [w.name, w.weight]));
        const positive = after.reduce((s, w) => s + Math.max(0, w.weight - (old.get(w.name) ?? 0)), 0);
        expect(moved).toBe(positive);
      }),
      { numRuns: 200 },
    );
  });

  it("splits real units within statistical bounds", () => {
    const a = compileAllocation([
      { name: "control", weight: 7000 },
      { name: "treatment", weight: 3000 },
    ]);
    const n = 50_000;
    let control = 0;
    for (let i = 0; i < n; i++) if (variantForBucket(a, bucketOf("exp:0", `unit-${i}`)) === "control") control++;
    // Binomial(50,000, 0.7): sd ≈ 102.5; accept ±4 sd.
    expect(Math.abs(control - 35_000)).toBeLessThan(410);
  });

  it("refuses weights that do not sum to 10000 or repeat a name", () => {
    expect(() => compileAllocation([{ name: "a", weight: 9999 }])).toThrow(/sum/);
    expect(() => compileAllocation([{ name: "a", weight: 5000 }, { name: "a", weight: 5000 }])).toThrow(/repeat/);
  });
});
