// The queue consumer: one fold per delivered batch; a failed fold retries the whole batch.
import { db } from "../db/client.ts";
import { foldRecords } from "./consume.ts";

export async function handlePredictionLogs(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  try {
    const result = await foldRecords(db(env), batch.messages.map((m) => m.body), crypto.randomUUID());
    if (result.rejected > 0) console.warn(`dropped ${result.rejected} malformed prediction log record(s)`);
    batch.ackAll();
  } catch (err) {
    // Nothing was committed (the fold is one batch): let the queue deliver it again.
    console.error(`folding ${batch.messages.length} prediction log record(s) failed:`, err);
    batch.retryAll();
  }
}
