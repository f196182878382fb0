// Dead letters: a poison batch (here, one whose every fold fails while a fault lasts) goes to the
// dead-letter queue after its retries, is stored where an operator sees it, and is re-driven once
// the fault is fixed — counted exactly once, however often it is re-driven.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { eventually, testStack, waitConsumed, waitForCount, type TestStack } from "./helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack({ maxRetries: 2 });
  await stack.admin.ok("POST", "/v1/models", { name: "poison", task: "regression" });
});
afterAll(() => stack?.dispose());

type Dead = { id: string; queue: string; reason: string; messages: number; status: string; redriven_by: string | null };
const deadLetters = (query: { queue?: "prediction-logs" | "feedback"; status?: "dead" | "redriven" } = {}) => stack.admin.api.listDeadLetters({ query });

const record = (i: number): LogRecord => ({ request_id: `p-${i}`, ts: Date.now(), model: "poison", version: 1, variant: "a", shadow: false, snapshot_version: 1, unit_hash: i, features: { x: i }, outputs: { prediction: i }, latency_ms: { total: 1, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t" });

describe("dead letters", () => {
  it("keeps a batch that failed every retry, shows it, and re-drives it once fixed, counting each record once", async () => {
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    // The fault: the shard directory refuses new rows, so no record of a new day can be folded.
    await db.exec("CREATE TRIGGER poison BEFORE INSERT ON rollup_shards BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    await q.sendBatch([{ body: { records: Array.from({ length: 50 }, (_, i) => record(i)) } }, { body: { records: Array.from({ length: 50 }, (_, i) => record(50 + i)) } }]);
    // Three attempts fail, then the dead-letter queue's consumer stores the batch.
    await waitConsumed(stack, "verge-prediction-logs-dlq", 2);
    const listed = await deadLetters({ queue: "prediction-logs", status: "dead" });
    expect(listed.dead_letters).toEqual([expect.objectContaining({ queue: "prediction-logs", reason: "failed every retry on verge-prediction-logs", messages: 2, status: "dead" })]);
    expect(listed.health.dead_batches).toBe(1);
    const id = listed.dead_letters[0]!.id;
    const stored = (await stack.admin.api.getDeadLetter({ params: { id } })) as { bodies: { records: LogRecord[] }[] };
    expect(stored.bodies.flatMap((b) => b.records.map((r) => r.request_id)).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `p-${i}`).sort());
    expect((await stack.admin.ok("GET", "/v1/models/poison/metrics")).total).toBe(0);

    await db.exec("DROP TRIGGER poison;");
    const redriven = await stack.admin.api.redriveDeadLetter({ params: { id } });
    expect(redriven).toMatchObject({ status: "redriven", sent: 2 });
    await waitForCount(stack, "poison", 100);
    // Re-driving again sends the same records: each is still counted once.
    const mark = stack.batches.filter((b) => b.queue === "verge-prediction-logs").reduce((s, b) => s + b.acked, 0);
    await stack.admin.api.redriveDeadLetter({ params: { id } });
    const lines = await waitConsumed(stack, "verge-prediction-logs", mark + 2);
    expect(lines.at(-1)).toMatchObject({ counted: 0 });
    expect((await stack.admin.ok("GET", "/v1/models/poison/metrics")).total).toBe(100);
    const after = await deadLetters({ queue: "prediction-logs" });
    expect(after.dead_letters[0]).toMatchObject({ id, status: "redriven", redriven_by: "bootstrap-admin" });
    expect(after.health.dead_batches).toBe(0);
    const audit = await stack.admin.api.audit({ query: { target: `dead-letters/${id}` } });
    expect(audit.entries.map((e) => e.action)).toEqual(["dead_letter.redrive", "dead_letter.redrive"]);
  });

  it("keeps feedback that does not parse as a dead letter at once, without retrying it", async () => {
    const q = await stack.mf.getQueueProducer<unknown>("FEEDBACK", "verge-gateway");
    await q.send({ request_id: "x", label: "yes" });
    const dead = await eventually(async () => (await deadLetters({ queue: "feedback" })).dead_letters.find((d) => /feedback schema/.test(d.reason)));
    expect(dead.messages).toBe(1);
    expect(stack.batches.filter((b) => b.queue === "verge-feedback").every((b) => !b.retried)).toBe(true);
  });

  it("refuses a malformed dead-letter id with a 400 and an unknown one with a 404", async () => {
    expect((await stack.admin.raw("POST", "/v1/dead-letters/nope/redrive")).status).toBe(400);
    expect((await stack.admin.raw("POST", `/v1/dead-letters/${"0".repeat(32)}/redrive`)).status).toBe(404);
  });
});
