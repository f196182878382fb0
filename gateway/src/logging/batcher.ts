// Batches prediction log records across the requests of an isolate: records are packed into
// envelopes (up to 100 records or 96 KB of UTF-8 JSON a message) and sent every 25 ms or 1,000
// records, instead of one message per prediction. The request that opens a batch keeps its send in
// waitUntil, so its context (which owns the batch's timer) lives until the batch has left; requests
// that join the batch do not wait for it. Nothing is dropped silently: a
// record too large for a message is cut down (and says so), a sendBatch call that fails is
// retried on its own with backoff, and what the queue still refuses is spilled to the lake
// bucket, from which the control plane re-ingests it.
import { fitRecord, jsonBytes, MAX_MESSAGE_BYTES, MAX_RECORDS_PER_MESSAGE, type LogRecord } from "@verge/shared";

/** Queues accept at most 100 messages and 256 KB per sendBatch; a margin is kept for framing. */
const MAX_MESSAGES = 100;
const MAX_BATCH_BYTES = 240_000;
const MAX_PENDING_RECORDS = 1000;
const MAX_WAIT_MS = 25;
/** `{"records":[` … `]}`, plus one comma per record. */
const ENVELOPE_BYTES = 16;
/** The largest record that still fits one message on its own. */
export const MAX_RECORD_BYTES = MAX_MESSAGE_BYTES - ENVELOPE_BYTES;
/** Waits before each retry of a failed sendBatch call. */
export const RETRY_DELAYS_MS = [50, 250, 1000] as const;
export const SPILL_PREFIX = "spill/";

type Envelope = MessageSendRequest<{ records: LogRecord[] }>;

export interface LogSink {
  queue: Pick<Queue, "sendBatch">;
  /** Where records the queue keeps refusing go; without it they are counted as lost. */
  spill?: Pick<R2Bucket, "put"> | undefined;
  sleep?: (ms: number) => Promise<void>;
}

/** What one flush did: visible in the worker's log whenever anything but a clean send happened. */
export interface FlushReport {
  records: number;
  messages: number;
  calls: number;
  /** Records cut down to fit one message (each still sent and counted). */
  truncated: number;
  /** sendBatch calls that failed at least once. */
  retried: number;
  /** Records written to the spill bucket after every retry failed. */
  spilled: number;
  /** Records neither queued nor spilled (both failed): the only loss, always reported. */
  lost: number;
}

interface Pending {
  records: LogRecord[];
  sent: Promise<void>;
  release: () => void;
  timer: ReturnType<typeof setTimeout>;
  /** When the batch was opened (ms since epoch). */
  opened: number;
}

let pending: Pending | undefined;

/**
 * Adds records to the isolate's next batch. For the request that opened it (and one that flushes
 * it), returns the batch's send, to hold in waitUntil: it resolves once the batch has been sent,
 * spilled or reported. A request that only joins a batch gets undefined, nothing to hold: holding
 * every request's context until its batch leaves cost the gateway more CPU than building, sizing
 * and sending the records together. The opener's context owns the timer; should its timer not have
 * fired in time (its request cancelled), the next request to join flushes the batch itself and
 * holds that send.
 */
export function enqueueLogs(sink: LogSink, records: readonly LogRecord[]): Promise<void> | undefined {
  const now = Date.now();
  const batch = pending;
  if (!batch) {
    let release!: () => void;
    const sent = new Promise<void>((resolve) => (release = resolve));
    const opened: Pending = { records: [...records], sent, release, timer: setTimeout(() => void flush(sink, opened), MAX_WAIT_MS), opened: now };
    pending = opened;
    if (opened.records.length >= MAX_PENDING_RECORDS) void flush(sink, opened);
    return sent;
  }
  batch.records.push(...records);
  if (batch.records.length >= MAX_PENDING_RECORDS || now - batch.opened >= MAX_WAIT_MS * 2) {
    void flush(sink, batch);
    return batch.sent;
  }
  return undefined;
}

async function flush(sink: LogSink, batch: Pending): Promise<void> {
  if (pending !== batch) return;
  pending = undefined;
  clearTimeout(batch.timer);
  try {
    const report = await sendRecords(sink, batch.records);
    if (report.truncated || report.retried || report.spilled || report.lost) console.warn(JSON.stringify({ event: "log_send", ...report }));
  } finally {
    batch.release();
  }
}

/**
 * Sends records now: each call within the queue's limits, independently of the others, retried
 * on failure; records of a call that still fails are spilled.
 */
export async function sendRecords(sink: LogSink, records: readonly LogRecord[]): Promise<FlushReport> {
  const report: FlushReport = { records: records.length, messages: 0, calls: 0, truncated: 0, retried: 0, spilled: 0, lost: 0 };
  // Each record's JSON size is computed once: it decides both truncation and packing.
  const sized = records.map((r) => {
    const bytes = jsonBytes(r);
    if (bytes <= MAX_RECORD_BYTES) return { record: r, bytes };
    const f = fitRecord(r, MAX_RECORD_BYTES);
    if (f !== r) report.truncated++;
    return { record: f, bytes: jsonBytes(f) };
  });
  const calls = sendBatches(pack(sized));
  report.messages = calls.reduce((s, c) => s + c.length, 0);
  report.calls = calls.length;
  await Promise.all(calls.map((call) => sendCall(sink, call, report)));
  return report;
}

async function sendCall(sink: LogSink, call: Envelope[], report: FlushReport): Promise<void> {
  const sleep = sink.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let error: unknown;
  for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
    if (attempt > 0) await sleep(RETRY_DELAYS_MS[attempt - 1]!);
    try {
      // Retried whole: the consumer counts each record once, so a send that half-succeeded costs nothing twice.
      await sink.queue.sendBatch(call);
      if (attempt > 0) report.retried++;
      return;
    } catch (err) {
      error = err;
    }
  }
  report.retried++;
  const records = call.flatMap((m) => m.body.records);
  try {
    if (!sink.spill) throw new Error("no spill bucket bound");
    await spill(sink.spill, records);
    report.spilled += records.length;
  } catch (spillError) {
    report.lost += records.length;
    console.error(`prediction logs: ${records.length} record(s) neither queued (${(error as Error).message}) nor spilled (${(spillError as Error).message})`);
  }
}

/** One object per failed call; the control plane's cron re-ingests and deletes it. */
export async function spill(bucket: Pick<R2Bucket, "put">, records: readonly LogRecord[]): Promise<void> {
  const now = new Date();
  const key = `${SPILL_PREFIX}${now.toISOString().slice(0, 10)}/${now.getTime()}-${crypto.randomUUID()}.json`;
  await bucket.put(key, JSON.stringify({ records }), { httpMetadata: { contentType: "application/json" }, customMetadata: { records: String(records.length) } });
}

/** Envelopes of at most 100 records and 96 KB of UTF-8 JSON each. */
function pack(records: readonly { record: LogRecord; bytes: number }[]): { message: Envelope; bytes: number }[] {
  const messages: { message: Envelope; bytes: number }[] = [];
  let current: LogRecord[] = [];
  let bytes = ENVELOPE_BYTES;
  const close = () => messages.push({ message: { body: { records: current }, contentType: "json" }, bytes });
  for (const { record: r, bytes: json } of records) {
    const size = json + 1;
    if (current.length && (current.length >= MAX_RECORDS_PER_MESSAGE || bytes + size > MAX_MESSAGE_BYTES)) {
      close();
      current = [];
      bytes = ENVELOPE_BYTES;
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
