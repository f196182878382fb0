// The queue consumer: prediction logs fold into rollups, feedback is stored; either way one atomic
// write per delivered batch, and a failed one retries the whole batch.
import { db } from "../db/client.ts";
import { foldRecords } from "./consume.ts";
import { storeFeedback } from "./feedback.ts";

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  try {
    const bodies = batch.messages.map((m) => m.body);
    const result = batch.queue === "verge-feedback" ? await storeFeedback(db(env), bodies) : await foldRecords(db(env), bodies, crypto.randomUUID());
    if (result.rejected > 0) console.warn(`dropped ${result.rejected} malformed message(s) from ${batch.queue}`);
    batch.ackAll();
  } catch (err) {
    // Nothing was committed (the fold is one batch): let the queue deliver it again.
    console.error(`handling ${batch.messages.length} message(s) from ${batch.queue} failed:`, err);
    batch.retryAll();
  }
}
