// Exactly-once counting under at-least-once delivery: every record delivered twice counts once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { eventually, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  await stack.admin.ok("POST", "/v1/models", { name: "m", task: "regression" });
});
afterAll(() => stack?.dispose());

const record = (i: number, overrides: Partial<LogRecord> = {}): LogRecord => ({
  request_id: `req-${i}`,
  ts: Date.now(),
  model: "m",
  version: 1 + (i % 2),
  variant: i % 2 ? "b" : "a",
  shadow: false,
  snapshot_version: 1,
  unit_hash: i,
  features: { x: i },
  outputs: { prediction: i / 10 },
  latency_ms: { total: 2 + (i % 5), features: 0, infer: 1 },
  status: i % 10 === 0 ? "error" : "ok",
  degraded: [],
  colo: "test",
  ...overrides,
});

type Metrics = { total: number; series: { version: number; variant: string; shadow: boolean; count: number; errors: number; latency_ms: { max: number } }[] };

describe("rollup consumer", () => {
  it("counts each record once when every batch is delivered twice, in any grouping", async () => {
    const queue = await stack.mf.getQueueProducer<LogRecord>("PREDICTION_LOGS", "verge-gateway");
    const records = Array.from({ length: 300 }, (_, i) => record(i));
    for (let i = 0; i < records.length; i += 50) {
      const chunk = records.slice(i, i + 50).map((body) => ({ body }));
      await queue.sendBatch(chunk);
      await queue.sendBatch(chunk); // redelivery of the same records
    }
    // A shadow record with the same request id is a different prediction, counted separately.
    await queue.send(record(1, { shadow: true }));
    await queue.send(record(1, { shadow: true }));
    // Malformed records are dropped, not retried forever, and never counted.
    await queue.send({ nope: true } as unknown as LogRecord);

    const m = await eventually(async () => {
      const r = await stack.admin.ok("GET", "/v1/models/m/metrics");
      return r.series.reduce((s, x) => s + x.count, 0) >= 301 ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 2500));
    const settled = await stack.admin.ok("GET", "/v1/models/m/metrics");
    expect(settled.series).toEqual(m.series);
    expect(m.total).toBe(300);
    const by = (v: string, shadow = false) => m.series.find((s) => s.variant === v && s.shadow === shadow)!;
    expect(by("a").count).toBe(150);
    expect(by("b").count).toBe(150);
    expect(by("a").errors).toBe(30); // i % 10 === 0 are all even
    expect(by("b", true).count).toBe(1);
    expect(by("a").latency_ms.max).toBe(6);
  });
});

describe("concurrent folds", () => {
  it("two deliveries of the same records folded at the same moment count them once; the loser retries", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "race", task: "regression" });
    const worker = (await stack.mf.getWorker("verge-control-plane")) as unknown as { queue(q: string, m: { id: string; timestamp: Date; body: unknown; attempts: number }[]): Promise<{ outcome: string; retryBatch: { retry: boolean }; explicitRetries: string[] }> };
    const records = Array.from({ length: 500 }, (_, i) => record(5000 + i, { model: "race" }));
    const delivery = (tag: string) => [{ id: `${tag}-1`, timestamp: new Date(), body: { records }, attempts: 1 }];
    const results = await Promise.all([worker.queue("verge-prediction-logs", delivery("a")), worker.queue("verge-prediction-logs", delivery("b"))]);
    // Whatever the interleaving, a redelivery of both afterwards changes nothing.
    await worker.queue("verge-prediction-logs", delivery("c"));
    const m = await stack.admin.ok("GET", "/v1/models/race/metrics");
    expect(m.total).toBe(500);
    expect(results).toHaveLength(2);
  });
});

describe("compaction", () => {
  it("folds old minutes into hours and days exactly, and forgets old identities", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "old", task: "regression" });
    const queue = await stack.mf.getQueueProducer<LogRecord>("PREDICTION_LOGS", "verge-gateway");
    const day = 86_400_000;
    // 3 days, 45 days and 20 days ago, spread over several minutes each.
    const ages = [3 * day, 45 * day, 20 * day];
    // Each group starts an hour into its (UTC) day, so its 90 minutes never straddle midnight.
    const dayStart = (t: number) => Math.floor(t / day) * day;
    const records = ages.flatMap((age, a) => Array.from({ length: 90 }, (_, i) => record(1000 * a + i, { model: "old", ts: dayStart(Date.now() - age) + 3_600_000 + i * 61_000, variant: "a", status: i % 9 ? "ok" : "error" })));
    for (let i = 0; i < records.length; i += 100) await queue.sendBatch(records.slice(i, i + 100).map((body) => ({ body })));
    const all = { from: Date.now() - 60 * day, to: Date.now() + 60_000 };
    const q = `/v1/models/old/metrics?from=${all.from}&to=${all.to}`;
    const before = await eventually(async () => {
      const m = await stack.admin.ok("GET", q);
      return m.total === 270 ? m : undefined;
    });
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    const rows = async () => (await db.prepare("SELECT count(*) AS n FROM rollups WHERE model = 'old'").first<{ n: number }>())!.n;
    const rowsBefore = await rows();
    await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *" });
    const after = await stack.admin.ok("GET", q);
    expect(after.series).toEqual(before.series);
    expect(await rows()).toBeLessThan(rowsBefore);
    const minutes = (await db.prepare("SELECT minute FROM rollups WHERE model = 'old'").all<{ minute: number }>()).results.map((r) => r.minute);
    const nowMinute = Math.floor(Date.now() / 60_000);
    for (const m of minutes) {
      if (m < nowMinute - 30 * 1440) expect(m % 1440).toBe(0);
      else if (m < nowMinute - 2 * 1440) expect(m % 60).toBe(0);
    }
    // A chart-ready series at day resolution adds up to the same totals.
    const daily = await stack.admin.ok("GET", `${q}&step=day`);
    expect(daily.timeseries.reduce((s, p) => s + p.count, 0)).toBe(270);
    expect(new Set(daily.timeseries.map((p) => p.t)).size).toBe(3);
    expect(daily.timeseries.every((p) => p.t.endsWith("T00:00:00.000Z"))).toBe(true);
    // Identities older than the 14-day retention are gone; the 3-day-old ones stay.
    const kept = (await db.prepare("SELECT count(*) AS n FROM ingested WHERE key LIKE 'old|%'").first<{ n: number }>())!.n;
    expect(kept).toBe(90);
  });
});
