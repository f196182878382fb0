import { xxhash32 } from "hash-wasm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import vectors from "../test-vectors/bucketing.json" with { type: "json" };
import { BUCKETS, bucketOf, inShadowSample } from "../src/bucketing.ts";

describe("bucketing contract", () => {
  it("publishes at least 100 vectors, non-ASCII units included", () => {
    expect(vectors.rows.length).toBeGreaterThanOrEqual(100);
    expect(vectors.rows.some((r) => /[^\x00-\x7f]/.test(r.unit))).toBe(true);
  });

  it("reproduces every published vector", () => {
    for (const row of vectors.rows) expect(bucketOf(row.salt, row.unit), JSON.stringify(row)).toBe(row.bucket);
  });

  it("agrees with the reference XXH32 (hash-wasm) on arbitrary strings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 64 }), fc.string({ maxLength: 300, unit: "binary" }), async (salt, unit) => {
        const reference = Number.parseInt(await xxhash32(`${salt}:${unit}`, 0), 16) % BUCKETS;
        expect(bucketOf(salt, unit)).toBe(reference);
      }),
      { numRuns: 500 },
    );
  });

  it("is deterministic and always in [0, 10000)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (salt, unit) => {
        const b = bucketOf(salt, unit);
        expect(Number.isInteger(b) && b >= 0 && b < BUCKETS).toBe(true);
        expect(bucketOf(salt, unit)).toBe(b);
      }),
    );
  });

  it("samples shadows at the configured rate, always the same units", () => {
    const units = Array.from({ length: 20_000 }, (_, i) => `u${i}`);
    const sampled = units.filter((u) => inShadowSample("m:shadow:3", u, 1000));
    // 10% of 20,000: binomial sd ≈ 42; ±5 sd.
    expect(Math.abs(sampled.length - 2000)).toBeLessThan(215);
    expect(units.filter((u) => inShadowSample("m:shadow:3", u, 1000))).toEqual(sampled);
  });
});
