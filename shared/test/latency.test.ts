import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketUpperMs, latencyBucket, quantileMs } from "../src/latency.ts";

describe("latency histograms", () => {
  it("puts every latency in a bucket whose upper edge bounds it within 10%", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 600_000, noNaN: true }), (ms) => {
        const upper = bucketUpperMs(latencyBucket(ms));
        expect(upper).toBeGreaterThanOrEqual(ms - 1e-9);
        expect(bucketUpperMs(latencyBucket(ms) - 1)).toBeLessThan(ms + 1e-9);
        expect(upper + 1).toBeLessThanOrEqual((ms + 1) * 1.1 + 1e-9);
      }),
    );
  });

  it("reads quantiles that bound the exact ones within one bucket", () => {
    const xs = Array.from({ length: 1000 }, (_, i) => (i * 7.3) % 400);
    const hist = new Map<number, number>();
    for (const b of xs.map(latencyBucket)) hist.set(b, (hist.get(b) ?? 0) + 1);
    const exact = [...xs].sort((a, b) => a - b)[Math.ceil(0.99 * xs.length) - 1]!;
    const p99 = quantileMs(hist, 0.99)!;
    expect(p99).toBeGreaterThanOrEqual(exact);
    expect(p99 + 1).toBeLessThanOrEqual((exact + 1) * 1.1 + 1e-9);
    expect(quantileMs(new Map(), 0.5)).toBeNull();
  });

  it("never reads a quantile above the exact max of the same samples", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (xs, q) => {
        const hist = new Map<number, number>();
        for (const b of xs.map(latencyBucket)) hist.set(b, (hist.get(b) ?? 0) + 1);
        const max = Math.max(...xs);
        const exact = [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)]!;
        const got = quantileMs(hist, q, max)!;
        expect(got).toBeLessThanOrEqual(max);
        expect(got).toBeGreaterThanOrEqual(exact - 1e-9);
      }),
    );
  });
});
