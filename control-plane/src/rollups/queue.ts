// The queue consumer: prediction logs fold into rollups, feedback is stored; either way one atomic
// write per delivered batch, and a failed one retries the whole batch.
import { recordsOf } from "@verge/shared";
import { db } from "../db/client.ts";
import { foldRecords } from "./consume.ts";
import { storeFeedback } from "./feedback.ts";

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const started = performance.now();
  try {
    const bodies = batch.messages.map((m) => m.body);
    const result = batch.queue === "verge-feedback" ? await storeFeedback(db(env), bodies) : await foldRecords(db(env), bodies.flatMap(recordsOf), crypto.randomUUID());
    if (result.rejected > 0) console.warn(`dropped ${result.rejected} malformed message(s) from ${batch.queue}`);
    // One structured line per batch: throughput and dedup are visible in the worker's logs.
    console.log(JSON.stringify({ event: "queue_batch", queue: batch.queue, messages: batch.messages.length, records: result.accepted, counted: result.counted, ms: Math.round(performance.now() - started) }));
    batch.ackAll();
  } catch (err) {
    // Nothing was committed (the fold is one batch): let the queue deliver it again.
    console.error(`handling ${batch.messages.length} message(s) from ${batch.queue} failed:`, err);
    batch.retryAll();
  }
}
