import { describe, expect, it } from "vitest";
import { adwinAdd, emptyAdwin } from "../src/adwin.ts";

function bernoulli(seed: number) {
  let s = seed >>> 0;
  return (p: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 < p ? 1 : 0);
}

describe("ADWIN", () => {
  it("detects an error rate that jumps from 10% to 40%, soon after the jump, and keeps the new regime", () => {
    const draw = bernoulli(1);
    const state = emptyAdwin();
    expect(adwinAdd(state, Array.from({ length: 1500 }, () => draw(0.1)))).toBeUndefined();
    let detectedAfter = -1;
    for (let i = 0; i < 1000 && detectedAfter < 0; i += 10) {
      const change = adwinAdd(state, Array.from({ length: 10 }, () => draw(0.4)));
      if (change) {
        detectedAfter = i + 10;
        expect(change.after).toBeGreaterThan(change.before);
      }
    }
    expect(detectedAfter).toBeGreaterThan(0);
    expect(detectedAfter).toBeLessThan(300);
    expect(state.window.length).toBeLessThan(1500);
  });

  it("stays quiet on stationary streams", () => {
    let alarms = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const draw = bernoulli(seed * 7919);
      if (adwinAdd(emptyAdwin(), Array.from({ length: 3000 }, () => draw(0.2)))) alarms++;
    }
    expect(alarms).toBeLessThanOrEqual(1);
  });
});
