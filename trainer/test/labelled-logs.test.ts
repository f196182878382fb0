// The labelled-logs source's window: which predictions it reads through the logs API, which labels
// it counts, and that it stops once it has enough. The logs API is answered here by a function over
// an in-memory lake with the route's window and `labels=only` semantics (records whose prediction
// time is in [from, to), labelled ones only); test/labelled-logs-trigger.test.ts runs the source
// against the real control plane.
import { describe, expect, it } from "vitest";
import type { LabelledFields, LogRecord } from "@verge/shared";
import { labelledLogSource } from "../src/schedules/labelled-logs.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 30, 12);

type Lake = { ts: number; label_ts: number | null }[];

function lakeApi(lake: Lake) {
  const calls: { from: number; to: number }[] = [];
  return {
    calls,
    async logs(_model: string, q: { from: number; to: number; limit?: number; cursor?: string | undefined }) {
      calls.push({ from: q.from, to: q.to });
      const inWindow = lake.filter((r) => r.label_ts !== null && r.ts >= q.from && r.ts < q.to);
      const start = Number(q.cursor ?? 0);
      const page = inWindow.slice(start, start + (q.limit ?? 1000));
      const next = start + page.length < inWindow.length ? String(start + page.length) : undefined;
      return { records: page.map((r) => ({ ts: r.ts, label_ts: r.label_ts, label: 1 }) as unknown as LogRecord & Partial<LabelledFields>), next };
    },
  };
}

describe("labelled-logs source", () => {
  it("counts labels given since the moment, however old their prediction within the feedback window", async () => {
    const since = NOW - 2 * 3_600_000;
    const lake: Lake = [
      { ts: NOW - 10 * DAY, label_ts: NOW - 3_600_000 }, // an old prediction, labelled since: counts
      { ts: NOW - 14 * DAY - 3_600_000, label_ts: NOW - 60_000 }, // at the window's edge: counts
      { ts: NOW - 3_600_000, label_ts: since - 1 }, // labelled just before: does not
      { ts: NOW - 60_000, label_ts: since }, // labelled at the moment: counts
      { ts: NOW - 60_000, label_ts: null }, // unlabelled: does not
    ];
    const api = lakeApi(lake);
    const source = labelledLogSource(api, { feedbackWindowDays: 14, now: () => NOW });
    expect(await source.countSince("m", since)).toBe(3);
    // Nothing older than the window before the moment is asked for.
    expect(Math.min(...api.calls.map((c) => c.from))).toBe(since - 15 * DAY);
  });

  it("reads newest first and stops once it has counted enough", async () => {
    const lake: Lake = Array.from({ length: 30 }, (_, i) => ({ ts: NOW - i * 3_600_000, label_ts: NOW - 60_000 }));
    const api = lakeApi(lake);
    const source = labelledLogSource(api, { feedbackWindowDays: 14, now: () => NOW });
    expect(await source.countSince("m", NOW - DAY, 5)).toBeGreaterThanOrEqual(5);
    expect(api.calls).toEqual([{ from: NOW + 1 - DAY, to: NOW + 1 }]);
  });

  it("counts a schedule that never succeeded from one window back, not from the lake's beginning", async () => {
    const lake: Lake = [
      { ts: NOW - 20 * DAY, label_ts: NOW - 19 * DAY },
      { ts: NOW - 2 * DAY, label_ts: NOW - DAY },
    ];
    const api = lakeApi(lake);
    const source = labelledLogSource(api, { feedbackWindowDays: 14, now: () => NOW });
    expect(await source.countSince("m", 0)).toBe(1);
    expect(Math.min(...api.calls.map((c) => c.from))).toBe(NOW - 30 * DAY);
  });
});
