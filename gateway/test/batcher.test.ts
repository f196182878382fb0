// The gateway's log sends: envelopes within the queue's limits in UTF-8 bytes (a burst never
// becomes an oversized send the queue refuses), a failing sendBatch call retried on its own, and
// what the queue keeps refusing spilled to the lake bucket and re-ingested — every record counted
// once. The queue failures are a fake (a real queue here does not fail on demand); the spill
// bucket, the re-ingestion and the counting are the real ones.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_MESSAGE_BYTES, utf8Length, type LogRecord } from "@verge/shared";
import { enqueueLogs, sendBatches, sendRecords, type LogSink } from "../src/logging/batcher.ts";
import { testStack, waitForCount, type TestStack } from "../../test/helpers.ts";

type Envelope = { body: { records: LogRecord[] } };

const record = (i: number, features: LogRecord["features"] = {}): LogRecord => ({
  request_id: `req-${i}`,
  ts: Date.now(),
  model: "spilled",
  version: 1,
  variant: "a",
  shadow: false,
  snapshot_version: 1,
  unit_hash: i,
  features,
  outputs: { probability: 0.5 },
  latency_ms: { total: 2, features: 0, infer: 1 },
  status: "ok",
  degraded: [],
  colo: "t",
});

/** A queue that records each sendBatch call and fails the ones `fail` picks (by call number and attempt). */
function fakeQueue(fail: (call: Envelope[], attempt: number) => boolean = () => false) {
  const delivered: Envelope[][] = [];
  const attempts = new Map<string, number>();
  const queue = {
    async sendBatch(call: Iterable<Envelope>) {
      const messages = [...call];
      const id = messages[0]!.body.records[0]!.request_id;
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      if (fail(messages, attempt)) throw new Error("queue refused the call");
      delivered.push(messages);
    },
  };
  return { queue: queue as unknown as LogSink["queue"], delivered };
}

const noWait = async () => {};
const holds = (call: Envelope[], id: string) => call.some((m) => m.body.records.some((r) => r.request_id === id));

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
});

describe("sendRecords", () => {
  it("sizes messages in UTF-8 bytes: with three-byte characters no message or call exceeds the queue's limits", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 1024 }), { minLength: 1, maxLength: 400 }), async (lengths) => {
        const { queue, delivered } = fakeQueue();
        const records = lengths.map((n, i) => record(i, { title: "商".repeat(n), n }));
        const report = await sendRecords({ queue, sleep: noWait }, records);
        expect(report).toMatchObject({ records: records.length, retried: 0, spilled: 0, lost: 0 });
        expect(delivered.flat().flatMap((m) => m.body.records.map((r) => r.request_id))).toEqual(records.map((r) => r.request_id));
        for (const call of delivered) {
          expect(call.length).toBeLessThanOrEqual(100);
          const bytes = call.map((m) => utf8Length(JSON.stringify(m.body)));
          for (const b of bytes) expect(b).toBeLessThanOrEqual(MAX_MESSAGE_BYTES + 1);
          expect(bytes.reduce((s, b) => s + b, 0)).toBeLessThanOrEqual(256_000);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("cuts a record too large for one message down (and says so) instead of dropping it", async () => {
    const { queue, delivered } = fakeQueue();
    const huge = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`title_${i}`, "日本語".repeat(340)]));
    const report = await sendRecords({ queue, sleep: noWait }, [record(1, huge), record(2)]);
    expect(report).toMatchObject({ truncated: 1, spilled: 0, lost: 0 });
    const sent = delivered.flat().flatMap((m) => m.body.records);
    expect(sent.map((r) => r.request_id)).toEqual(["req-1", "req-2"]);
    expect(sent[0]!.truncated).toHaveLength(60);
  });

  it("retries a failing call on its own with backoff; the other calls go through untouched", async () => {
    const waits: number[] = [];
    // 300 records of about 2 KB: several calls. The one holding req-100 fails twice, then succeeds.
    const { queue, delivered } = fakeQueue((call, attempt) => holds(call, "req-100") && attempt <= 2);
    const records = Array.from({ length: 300 }, (_, i) => record(i, { blob: "x".repeat(1000), pad: "y".repeat(1000) }));
    const report = await sendRecords({ queue, sleep: async (ms) => void waits.push(ms) }, records);
    expect(report.calls).toBeGreaterThan(2);
    expect(report).toMatchObject({ retried: 1, spilled: 0, lost: 0 });
    expect(waits).toEqual([50, 250]);
    expect(delivered.flat().flatMap((m) => m.body.records.map((r) => r.request_id)).sort()).toEqual(records.map((r) => r.request_id).sort());
  });
});

describe("spill and re-ingestion", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await testStack();
    await stack.admin.ok("POST", "/v1/models", { name: "spilled", task: "regression" });
  });
  afterAll(() => stack?.dispose());

  it("spills a call the queue keeps refusing to the lake bucket; the cron re-ingests it, counting every record once", async () => {
    const bucket = await stack.mf.getR2Bucket("LOGS", "verge-control-plane");
    const queue = await stack.mf.getQueueProducer<{ records: LogRecord[] }>("PREDICTION_LOGS", "verge-gateway");
    // The real queue, except that one call (the one starting at req-100) is always refused.
    let refused = 0;
    const flaky = {
      async sendBatch(call: Iterable<{ body: { records: LogRecord[] } }>) {
        const messages = [...call];
        if (holds(messages, "req-100")) {
          refused++;
          throw new Error("queue refused the call");
        }
        await queue.sendBatch(messages);
      },
    };
    const records = Array.from({ length: 300 }, (_, i) => record(i, { blob: "x".repeat(1000), pad: "y".repeat(1000) }));
    const report = await sendRecords({ queue: flaky as unknown as LogSink["queue"], spill: bucket as unknown as R2Bucket, sleep: noWait }, records);
    expect(refused).toBe(4); // the first try and three retries
    expect(report.spilled).toBeGreaterThan(0);
    expect(report.lost).toBe(0);
    const pending = await stack.admin.ok("GET", "/v1/dead-letters");
    expect(pending.health.spill_pending_objects).toBe(1);

    await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *" });
    await waitForCount(stack, "spilled", 300);
    const health = await stack.admin.ok("GET", "/v1/dead-letters");
    expect(health.health).toMatchObject({ spill_pending_objects: 0, spill_reingested_records: report.spilled });
    // Spilled again (a gateway that spilled and also got through after all): still counted once.
    await sendRecords({ queue: flaky as unknown as LogSink["queue"], spill: bucket as unknown as R2Bucket, sleep: noWait }, records.slice(100, 200));
    await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *" });
    await waitForCount(stack, "spilled", 300);
    expect((await stack.admin.ok("GET", "/v1/dead-letters")).health.spill_pending_objects).toBe(0);
  });
});

describe("enqueueLogs: one batch across requests", () => {
  it("holds only the request that opened the batch until it is sent; joiners return at once; all records go in one call", async () => {
    const { queue, delivered } = fakeQueue();
    const opener = enqueueLogs({ queue }, [record(1)]);
    let openerDone = false;
    void opener.then(() => (openerDone = true));
    const joiners = [2, 3, 4].map((i) => enqueueLogs({ queue }, [record(i)]));
    expect(joiners).toEqual([undefined, undefined, undefined]); // nothing to hold
    await Promise.resolve();
    expect(openerDone).toBe(false);
    expect(delivered).toHaveLength(0);
    await opener; // the batch's 25 ms timer
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.flatMap((m) => m.body.records.map((r) => r.request_id))).toEqual(["req-1", "req-2", "req-3", "req-4"]);
  });

  it("lets the next request flush a batch whose timer did not fire in time, and hold that send", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const { queue, delivered } = fakeQueue();
      void enqueueLogs({ queue }, [record(10)]);
      // The opener's request was cancelled: its timer never fires, but time goes on.
      vi.setSystemTime(Date.now() + 60);
      const late = enqueueLogs({ queue }, [record(11)]);
      expect(late).toBeInstanceOf(Promise);
      await late;
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.flatMap((m) => m.body.records.map((r) => r.request_id))).toEqual(["req-10", "req-11"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
