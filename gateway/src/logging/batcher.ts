// Batches prediction log records across the requests of an isolate: one queue send per 100
// records or 25 ms, whichever comes first, instead of one per request. Every request keeps its
// records' send in its waitUntil, so an isolate is not torn down before they leave.
import type { LogRecord } from "@verge/shared";

/** Queues accept at most 100 messages per sendBatch. */
const MAX_BATCH = 100;
const MAX_WAIT_MS = 25;

interface Pending {
  messages: MessageSendRequest<LogRecord>[];
  sent: Promise<void>;
  release: () => void;
  timer: ReturnType<typeof setTimeout>;
}

let pending: Pending | undefined;

/** Adds records to the isolate's next batch; resolves once that batch has been sent (or failed). */
export function enqueueLogs(queue: Queue, records: readonly LogRecord[]): Promise<void> {
  let batch = pending;
  if (!batch) {
    let release!: () => void;
    const sent = new Promise<void>((resolve) => (release = resolve));
    batch = { messages: [], sent, release, timer: setTimeout(() => void flush(queue, batch!), MAX_WAIT_MS) };
    pending = batch;
  }
  for (const body of records) batch.messages.push({ body, contentType: "json" });
  const current = batch;
  if (current.messages.length >= MAX_BATCH) void flush(queue, current);
  // The request that opened the batch owns its timer; if that request is cancelled (client gone)
  // the timer may never fire, so every request also flushes the batch itself after a grace period.
  const backstop = new Promise<void>((resolve) => setTimeout(resolve, MAX_WAIT_MS * 2)).then(() => flush(queue, current));
  return Promise.race([current.sent, backstop.then(() => current.sent)]);
}

async function flush(queue: Queue, batch: Pending): Promise<void> {
  if (pending !== batch) return;
  pending = undefined;
  clearTimeout(batch.timer);
  try {
    for (let i = 0; i < batch.messages.length; i += MAX_BATCH) {
      const chunk = batch.messages.slice(i, i + MAX_BATCH);
      // One retry: the consumer deduplicates, so a send that half-succeeded costs nothing twice.
      await queue.sendBatch(chunk).catch(() => queue.sendBatch(chunk));
    }
  } catch (err) {
    console.error(`prediction log send failed for ${batch.messages.length} record(s): ${(err as Error).message}`);
  } finally {
    batch.release();
  }
}
