// Exactly-once counting in the rollup shards under at-least-once delivery: every batch delivered
// twice, concurrent folds of overlapping records, a consumer failing after its shards committed;
// compaction and pruning inside the shards as they age.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { eventually, lakeRecords, shardOf, testStack, waitConsumed, waitForCount, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  for (const name of ["m", "race", "crash", "old"]) await stack.admin.ok("POST", "/v1/models", { name, task: "regression" });
});
afterAll(() => stack?.dispose());

const LOGS = "verge-prediction-logs";

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
type QueueWorker = { queue(q: string, m: { id: string; timestamp: Date; body: unknown; attempts: number }[]): Promise<{ outcome: string; ackAll: boolean; retryBatch: { retry: boolean } }> };
const worker = async () => (await stack.mf.getWorker("verge-control-plane")) as unknown as QueueWorker;
const logLines = async (model: string, from: number) => {
  return lakeRecords(stack, model, { from, to: Date.now() + 60_000 });
};

describe("rollup consumer", () => {
  it("counts each record once when every batch is delivered twice, in any grouping", async () => {
    const started = Date.now();
    const queue = await stack.mf.getQueueProducer<LogRecord | { records: LogRecord[] }>("PREDICTION_LOGS", "verge-gateway");
    const records = Array.from({ length: 300 }, (_, i) => record(i));
    // First delivery: one record per message, 50 messages a send.
    for (let i = 0; i < records.length; i += 50) await queue.sendBatch(records.slice(i, i + 50).map((body) => ({ body })));
    await waitConsumed(stack, LOGS, 300);
    // Redelivered later, grouped differently (envelopes of 37), so it reaches the shards in other
    // consumer batches: only the shards' own identities can tell.
    const envelopes = [];
    for (let i = 0; i < records.length; i += 37) envelopes.push({ body: { records: records.slice(i, i + 37) } });
    await queue.sendBatch(envelopes);
    // A shadow record with the same request id is a different prediction, counted separately.
    await queue.send(record(1, { shadow: true }));
    await queue.send(record(1, { shadow: true }));
    // Malformed records are kept as a dead letter, not retried forever, and never counted.
    await queue.send({ nope: true } as unknown as LogRecord);
    // Every message consumed: the counts are final, nothing more is on its way.
    const batches = await waitConsumed(stack, LOGS, 300 + envelopes.length + 3);
    expect(batches.reduce((s, b) => s + (b.counted ?? 0), 0)).toBe(301);
    expect(batches.reduce((s, b) => s + (b.duplicates ?? 0), 0)).toBe(301);

    const m = await stack.admin.ok("GET", "/v1/models/m/metrics");
    expect(m.total).toBe(300);
    const by = (v: string, shadow = false) => m.series.find((s) => s.variant === v && s.shadow === shadow)!;
    expect(by("a").count).toBe(150);
    expect(by("b").count).toBe(150);
    expect(by("a").errors).toBe(30); // i % 10 === 0 are all even
    expect(by("b", true).count).toBe(1);
    expect(by("a").latency_ms.max).toBe(6);
    // The lake holds each record once, as served.
    const lake = await logLines("m", started - 60_000);
    expect(lake).toHaveLength(301);
    expect(new Set(lake.map((r) => `${r.request_id}|${r.shadow}`)).size).toBe(301);
    const dead = await stack.admin.ok("GET", "/v1/dead-letters?queue=prediction-logs");
    expect(dead.dead_letters).toContainEqual(expect.objectContaining({ reason: expect.stringMatching(/do not match the log record schema/), messages: 1 }));
  });
});

describe("concurrent folds", () => {
  it("two overlapping deliveries folded at the same moment count every record once; the loser folds again with its new records alone", async () => {
    const records = Array.from({ length: 750 }, (_, i) => record(5000 + i, { model: "race" }));
    const delivery = (tag: string, from: number, to: number) => [{ id: `${tag}-1`, timestamp: new Date(), body: { records: records.slice(from, to) }, attempts: 1 }];
    const w = await worker();
    const before = stack.batches.length;
    // 250 records in both: whichever shard call comes second finds them counted and writes nothing.
    const results = await Promise.all([w.queue(LOGS, delivery("a", 0, 500)), w.queue(LOGS, delivery("b", 250, 750))]);
    for (const r of results) expect(r).toMatchObject({ outcome: "ok", ackAll: true, retryBatch: { retry: false } });
    const lines = stack.batches.slice(before).filter((b) => b.records === 500);
    expect(lines).toHaveLength(2);
    expect(lines.reduce((s, b) => s + b.counted!, 0)).toBe(750);
    // The loser: some of its records were counted by the other, the rest it counted itself.
    expect(lines.some((b) => b.duplicates === 250 && b.counted! > 0)).toBe(true);
    // Whatever the interleaving, a redelivery of both afterwards changes nothing.
    await w.queue(LOGS, delivery("c", 0, 750));
    expect((await stack.admin.ok("GET", "/v1/models/race/metrics")).total).toBe(750);
    expect(await logLines("race", Date.now() - 3_600_000)).toHaveLength(750);
  });

  it("a consumer that fails after its shards committed is retried, and the retry counts nothing twice", async () => {
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    // The batch's last step (storing its malformed record as a dead letter) fails until repaired.
    await db.exec("CREATE TRIGGER fail_dead_letters BEFORE INSERT ON dead_letters BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    const day = 86_400_000;
    // Two days, so two shards: both commit before the failure.
    const records = Array.from({ length: 200 }, (_, i) => record(9000 + i, { model: "crash", ts: Date.now() - (i % 2) * day }));
    const w = await worker();
    const body = [{ id: "crash-1", timestamp: new Date(), body: { records: [...records, { broken: true }] }, attempts: 1 }];
    const failed = await w.queue(LOGS, body);
    expect(failed).toMatchObject({ retryBatch: { retry: true } });
    const all = { from: Date.now() - 2 * day, to: Date.now() + 60_000 };
    const total = async () => (await stack.admin.ok("GET", `/v1/models/crash/metrics?from=${all.from}&to=${all.to}`)).total;
    expect(await total()).toBe(200);
    await db.exec("DROP TRIGGER fail_dead_letters;");
    const retried = await w.queue(LOGS, body);
    expect(retried).toMatchObject({ outcome: "ok", ackAll: true });
    expect(await total()).toBe(200);
  });
});

describe("compaction and pruning inside the shards", () => {
  it("folds old minutes into hours and days exactly, and keeps identities only as long as they are needed", async () => {
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
    await waitForCount(stack, "old", 270, { window: all });
    const before = await stack.admin.ok("GET", q);
    const shards = await Promise.all(ages.map((age) => shardOf(stack, "old", Date.now() - age)));
    const rowsBefore = await Promise.all(shards.map(async (s) => (await s.stats()).rollupRows));
    expect(await Promise.all(shards.map(async (s) => (await s.stats()).predictions))).toEqual([90, 90, 90]);

    await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *" });
    const after = await stack.admin.ok("GET", q);
    expect(after.series).toEqual(before.series);
    const stats = await Promise.all(shards.map((s) => s.stats()));
    stats.forEach((s, i) => expect(s.rollupRows).toBeLessThan(rowsBefore[i]!));
    const nowMinute = Math.floor(Date.now() / 60_000);
    for (const s of stats) {
      for (const m of s.times) {
        if (m < nowMinute - 30 * 1440) expect(m % 1440).toBe(0);
        else if (m < nowMinute - 2 * 1440) expect(m % 60).toBe(0);
      }
    }
    // A chart-ready series at day resolution adds up to the same totals.
    const daily = await stack.admin.ok("GET", `${q}&step=day`);
    expect(daily.timeseries.reduce((s, p) => s + p.count, 0)).toBe(270);
    expect(new Set(daily.timeseries.map((p) => p.t)).size).toBe(3);
    expect(daily.timeseries.every((p) => p.t.endsWith("T00:00:00.000Z"))).toBe(true);
    // Within the 4-day redelivery horizon every identity stays; past the 14-day feedback window none.
    expect(stats.map((s) => [s.predictions, s.pruned, s.joinsDropped])).toEqual([
      [90, false, false],
      [0, true, true],
      [0, true, true],
    ]);

    // A record for a day past the horizon cannot be counted exactly once any more: it is kept as a
    // dead letter, and the count does not move.
    const late = record(77_777, { model: "old", ts: dayStart(Date.now() - 20 * day) + 7_200_000, variant: "a" });
    await queue.send(late);
    const dead = await eventually(async () => {
      const list = await stack.admin.ok("GET", "/v1/dead-letters?queue=prediction-logs");
      return list.dead_letters.find((d) => /older than the dedup horizon/.test(d.reason));
    });
    const stored = await stack.admin.ok("GET", `/v1/dead-letters/${dead.id}`);
    expect(stored.bodies.map((b) => b.request_id)).toEqual([late.request_id]);
    expect((await stack.admin.ok("GET", q)).total).toBe(270);
  });
});
