// Cron times and retry waits for schedules.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cronProblem, latestOccurrence, nextOccurrence, retryDelayMs } from "../src/schedule.ts";
import { putScheduleSchema, retryPolicySchema } from "../src/schemas/schedules.ts";

describe("cron occurrences", () => {
  it("finds the latest time at or before now, never before notBefore, with nothing in between", () => {
    const patterns = ["*/7 * * * * *", "0 2 * * *", "30 */3 * * 1-5", "0 0 1 * *"];
    const zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"];
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.constantFrom(...zones), fc.integer({ min: 1.7e12, max: 1.9e12 }), fc.integer({ min: 0, max: 90 * 86_400_000 }), (p, tz, now, back) => {
        const notBefore = now - back;
        const latest = latestOccurrence(p, tz, now, notBefore);
        const next = nextOccurrence(p, tz, latest ?? notBefore - 1);
        if (latest === undefined) {
          expect(next === null || next > now).toBe(true);
          return;
        }
        expect(latest).toBeLessThanOrEqual(now);
        expect(latest).toBeGreaterThanOrEqual(notBefore);
        expect(next!).toBeGreaterThan(now);
      }),
      { numRuns: 200 },
    );
  });

  it("reads times in the schedule's time zone, across daylight saving", () => {
    // 02:00 in Paris: 01:00 UTC in winter, 00:00 UTC in summer.
    expect(new Date(latestOccurrence("0 2 * * *", "Europe/Paris", Date.parse("2026-01-15T12:00:00Z"), 0)!).toISOString()).toBe("2026-01-15T01:00:00.000Z");
    expect(new Date(latestOccurrence("0 2 * * *", "Europe/Paris", Date.parse("2026-07-15T12:00:00Z"), 0)!).toISOString()).toBe("2026-07-15T00:00:00.000Z");
    // An exact cron time counts as at or before now.
    expect(latestOccurrence("*/5 * * * * *", "UTC", Date.parse("2026-01-01T00:00:10Z"), 0)).toBe(Date.parse("2026-01-01T00:00:10Z"));
  });

  it("says what is wrong with a pattern", () => {
    expect(cronProblem("0 2 * * *", "UTC")).toBeUndefined();
    expect(cronProblem("61 * * * *", "UTC")).toMatch(/minute/);
    expect(cronProblem("* * *", "UTC")).toBeDefined();
    expect(cronProblem("0 0 30 2 *", "UTC")).toBeDefined();
  });
});

describe("retry backoff", () => {
  it("grows by the factor from the base and stops at the cap", () => {
    const p = retryPolicySchema.parse({ attempts: 5, backoff_s: 10, factor: 3, max_backoff_s: 60 });
    expect([1, 2, 3, 4].map((a) => retryDelayMs(p, a))).toEqual([10_000, 30_000, 60_000, 60_000]);
  });
});

describe("the example nightly schedule", () => {
  it("is a valid schedule", () => {
    const spec = putScheduleSchema.parse(JSON.parse(readFileSync(join(import.meta.dirname, "../../examples/churn-nightly-schedule.json"), "utf8")));
    expect(spec).toMatchObject({ cron: "0 2 * * *", timezone: "Europe/Paris", task: { kind: "train" }, trigger: { kind: "files" } });
  });
});
