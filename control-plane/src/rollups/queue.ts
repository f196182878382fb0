// The control plane's queue consumers. Prediction logs fold into the rollup shards (and the lake);
// labels join their predictions; the two dead-letter queues keep what failed every retry. A failed
// log batch is retried whole: shards that counted part of it recognise those records next time.
import { db } from "../db/client.ts";
import { QUEUES, storeDeadLetter } from "../dead-letters/store.ts";
import { ingestFeedback } from "./feedback.ts";
import { ingestLogs } from "./ingest.ts";

export const DEAD_LETTER_QUEUES = { [`${QUEUES["prediction-logs"]}-dlq`]: "prediction-logs", [`${QUEUES.feedback}-dlq`]: "feedback" } as const;

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const started = performance.now();
  const d = db(env);
  const log = (fields: Record<string, unknown>) =>
    // One structured line per batch: throughput, dedup and dead letters are visible in the worker's logs.
    console.log(JSON.stringify({ event: "queue_batch", queue: batch.queue, messages: batch.messages.length, ms: Math.round(performance.now() - started), ...fields }));
  try {
    if (batch.queue === QUEUES.feedback) {
      const r = await ingestFeedback(env, d, batch.messages);
      for (const m of r.ack) m.ack();
      for (const { message, delaySeconds } of r.retry) message.retry({ delaySeconds });
      log({ acked: r.ack.length, retried: r.retry.length, applied: r.applied, duplicates: r.duplicates, conflicts: r.conflicts, rejected: r.rejected });
      return;
    }
    const dead = DEAD_LETTER_QUEUES[batch.queue as keyof typeof DEAD_LETTER_QUEUES];
    if (dead) {
      await storeDeadLetter(env, d, { queue: dead, reason: `failed every retry on ${dead === "feedback" ? QUEUES.feedback : QUEUES["prediction-logs"]}`, bodies: batch.messages.map((m) => m.body), ids: batch.messages.map((m) => m.id) });
      batch.ackAll();
      log({ acked: batch.messages.length, dead: batch.messages.length });
      return;
    }
    const r = await ingestLogs(env, d, batch.messages.map((m) => m.body));
    batch.ackAll();
    log({ acked: batch.messages.length, records: r.accepted, counted: r.counted, duplicates: r.duplicates, rejected: r.rejected, late: r.late, shard_ms: r.shardMs });
  } catch (err) {
    // Nothing half-counted: each shard's fold is atomic, and a redelivery finds what was counted.
    console.error(`handling ${batch.messages.length} message(s) from ${batch.queue} failed:`, err);
    log({ acked: 0, failed: batch.messages.length, error: String((err as Error).message ?? err).slice(0, 300) });
    batch.retryAll();
  }
}
