// Waiting for conditions instead of sleeping: barriers that prove a queue has delivered everything
// sent before them, the cron tick run for a chosen moment, and counts read through the public API.
//
// Why a barrier proves "nothing more arrives": miniflare's queue broker keeps one FIFO per queue
// and hands its consumer one batch at a time while fewer than a batch are waiting (a retried
// message goes to the back). A marker sent now is therefore delivered only after every message
// already in the queue (duplicates included) has been handled. Counting the marker through the
// public API, and then exact totals, replaces "two equal reads some seconds apart".
import type { LogRecord } from "@verge/shared";
import { eventually, type TestStack } from "./helpers.ts";

export const CONTROL_PLANE = "verge-control-plane";
const BARRIER_MODEL = "queue-barrier";

/** Runs the control plane's cron handler as the tick of `at` (epoch ms): rollouts, sweep, deliveries. */
export async function tick(stack: TestStack, at: number): Promise<void> {
  const worker = await stack.mf.getWorker(CONTROL_PLANE);
  await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date(at) });
}

/** The model's count of primary (non-shadow) predictions over a window (default: the last hour), from `GET …/metrics`. */
export async function countedTotal(stack: TestStack, model: string, window = ""): Promise<number> {
  return ((await stack.admin.ok("GET", `/v1/models/${model}/metrics${window}`)) as { total: number }).total;
}

let barriers = 0;

/**
 * Returns once every prediction-log message sent before the call has been consumed: a marker
 * record for a model of its own goes through the same queue and must be counted exactly once.
 */
export async function predictionLogsDrained(stack: TestStack, timeoutMs = 60_000): Promise<void> {
  const created = await stack.admin.raw("POST", "/v1/models", { name: BARRIER_MODEL, task: "regression" });
  if (created.status !== 201 && created.status !== 409) throw new Error(`barrier model: ${created.status} ${JSON.stringify(created.body)}`);
  const before = await countedTotal(stack, BARRIER_MODEL);
  const q = await stack.mf.getQueueProducer<{ records: LogRecord[] }>("PREDICTION_LOGS", "verge-gateway");
  const marker: LogRecord = {
    request_id: `barrier-${Date.now()}-${++barriers}`,
    ts: Date.now(),
    model: BARRIER_MODEL,
    version: 1,
    variant: "barrier",
    shadow: false,
    snapshot_version: 0,
    unit_hash: 0,
    features: {},
    outputs: { y: 0 },
    latency_ms: { total: 0, features: 0, infer: 0 },
    status: "ok",
    degraded: [],
    colo: "test",
  };
  await q.send({ records: [marker] });
  await eventually(async () => ((await countedTotal(stack, BARRIER_MODEL)) > before ? true : undefined), timeoutMs);
  const after = await countedTotal(stack, BARRIER_MODEL);
  if (after !== before + 1) throw new Error(`the barrier record was counted ${after - before} times`);
}

/**
 * Waits until `read` reaches at least `expected`, drains the prediction-log queue, and returns the
 * value read after that: the caller asserts it equals `expected` (more would be a double count).
 */
export async function settledAt(stack: TestStack, read: () => Promise<number>, expected: number, timeoutMs = 60_000): Promise<number> {
  await eventually(async () => ((await read()) >= expected ? true : undefined), timeoutMs);
  await predictionLogsDrained(stack, timeoutMs);
  return read();
}
