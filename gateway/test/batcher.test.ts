// Log envelopes are grouped into sendBatch calls within the queue's limits (100 messages and
// 256 KB a call): a burst of records never becomes one oversized send that the queue refuses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sendBatches } from "../src/logging/batcher.ts";

describe("sendBatches", () => {
  it("keeps every envelope, in order, within 100 messages and 240 KB a call (a lone larger one goes alone)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 100 * 1024 }), { maxLength: 400 }), (sizes) => {
        const batches = sendBatches(sizes.map((bytes, i) => ({ message: i, bytes })));
        expect(batches.flat()).toEqual(sizes.map((_, i) => i));
        for (const b of batches) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(100);
          const total = b.reduce((s, i) => s + sizes[i]!, 0);
          if (b.length > 1) expect(total).toBeLessThanOrEqual(240_000);
        }
      }),
    );
  });

  it("splits 1,000 records' worth of envelopes (the burst that used to fail) into several calls", () => {
    const envelopes = Array.from({ length: 10 }, (_, i) => ({ message: i, bytes: 40_000 }));
    expect(sendBatches(envelopes).map((b) => b.length)).toEqual([6, 4]);
  });
});
