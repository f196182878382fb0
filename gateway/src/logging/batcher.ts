// Batches prediction log records across the requests of an isolate: records are packed into
// envelopes (up to 100 records or 96 KB a message) and sent every 25 ms or 1,000 records, instead
// of one message per prediction. Every request keeps its records' send in its waitUntil, so an
// isolate is not torn down before they leave.
import { MAX_MESSAGE_BYTES, MAX_RECORDS_PER_MESSAGE, type LogRecord } from "@verge/shared";

/** Queues accept at most 100 messages and 256 KB per sendBatch; a margin is kept for framing. */
const MAX_MESSAGES = 100;
const MAX_BATCH_BYTES = 240_000;
const MAX_PENDING_RECORDS = 1000;
const MAX_WAIT_MS = 25;

interface Pending {
  records: LogRecord[];
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
    batch = { records: [], sent, release, timer: setTimeout(() => void flush(queue, batch!), MAX_WAIT_MS) };
    pending = batch;
  }
  batch.records.push(...records);
  const current = batch;
  if (current.records.length >= MAX_PENDING_RECORDS) void flush(queue, current);
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
    for (const chunk of sendBatches(pack(batch.records))) {
      // Retried: the consumer deduplicates, so a send that half-succeeded costs nothing twice.
      await queue.sendBatch(chunk).catch(() => queue.sendBatch(chunk)).catch(() => queue.sendBatch(chunk));
    }
  } catch (err) {
    console.error(`prediction log send failed for ${batch.records.length} record(s): ${(err as Error).message}`);
  } finally {
    batch.release();
  }
}

/** Envelopes of at most 100 records and 96 KB each (a single larger record goes alone). */
function pack(records: readonly LogRecord[]): { message: MessageSendRequest<{ records: LogRecord[] }>; bytes: number }[] {
  const messages: { message: MessageSendRequest<{ records: LogRecord[] }>; bytes: number }[] = [];
  let current: LogRecord[] = [];
  let bytes = 0;
  const close = () => messages.push({ message: { body: { records: current }, contentType: "json" }, bytes });
  for (const r of records) {
    const size = JSON.stringify(r).length;
    if (current.length && (current.length >= MAX_RECORDS_PER_MESSAGE || bytes + size > MAX_MESSAGE_BYTES)) {
      close();
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length) close();
  return messages;
}

/** Groups envelopes into sendBatch calls within the queue's message-count and byte limits. */
export function sendBatches<M>(messages: readonly { message: M; bytes: number }[]): M[][] {
  const out: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (current.length && (current.length >= MAX_MESSAGES || bytes + m.bytes > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m.message);
    bytes += m.bytes;
  }
  if (current.length) out.push(current);
  return out;
}
