// Dynamic batching: concurrent requests for one model version whose inputs line up (same names,
// element types and per-row shape) are merged along dim 0 into one session run, flushed when the
// rows reach the batch size or the oldest request has waited the queue delay, and the outputs are
// split back by row ranges.
import * as ort from "onnxruntime-node";
import { ApiError } from "@verge/shared";
import type { Config } from "../config.ts";
import { oipDatatype } from "./tensors.ts";

export interface BatchPolicy {
  /** The most rows merged into one run; 1 turns batching off. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for company. */
  maxQueueDelayMs: number;
}

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

/** What the batcher needs from a session (an `ort.InferenceSession` is one). */
export interface BatchSession {
  readonly inputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  run(feeds: Feeds): Promise<ort.InferenceSession.OnnxValueMapType>;
}

export interface BatchTarget {
  model: string;
  version: number;
  session: BatchSession;
}

export interface BatcherHooks {
  /** Once per session run: its rows, how many requests shared it, and the most rows it could have held. */
  onRun?(target: BatchTarget, rows: number, requests: number, maxBatchSize: number): void;
  /** Once per request: how long it waited in the queue. */
  onQueued?(target: BatchTarget, waitedMs: number): void;
  /** A request refused (queue full) or dropped unrun (its deadline passed, or its caller left). */
  onDropped?(target: BatchTarget, reason: DropReason): void;
}

export type DropReason = "queue_full" | "deadline" | "disconnected";

/** When a request stops being worth running: its caller's deadline, and a signal fired if the caller leaves. */
export interface Expiry {
  /** `performance.now()` time after which nobody waits for the answer. */
  deadline?: number;
  signal?: AbortSignal;
}

interface Pending {
  feeds: Feeds;
  expiry: Expiry;
  rows: number;
  enqueuedAt: number;
  resolve: (out: Outputs) => void;
  reject: (err: unknown) => void;
}

interface Queue {
  target: BatchTarget;
  signature: string;
  policy: BatchPolicy;
  pending: Pending[];
  rows: number;
  /** One run at a time per queue: requests arriving meanwhile form the next, larger batch. */
  running: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/** The policy for each model: per-model overrides from `VERGE_BATCHING` over the node's defaults. */
export function policyFromConfig(config: Pick<Config, "VERGE_MAX_BATCH_SIZE" | "VERGE_MAX_QUEUE_DELAY_MS" | "VERGE_BATCHING">): (model: string) => BatchPolicy {
  return (model) => {
    const o = config.VERGE_BATCHING[model];
    return { maxBatchSize: o?.max_batch_size ?? config.VERGE_MAX_BATCH_SIZE, maxQueueDelayMs: o?.max_queue_delay_ms ?? config.VERGE_MAX_QUEUE_DELAY_MS };
  };
}

/**
 * A batcher: `infer` resolves with exactly the outputs the request would get run alone.
 *
 * @example
 * const batches = batcher(policyFromConfig(config), { onRun: (t, rows) => histogram.observe(rows) });
 * const outputs = await batches.infer({ model, version, session }, { input: tensor });
 */
export function batcher(policyFor: (model: string) => BatchPolicy, hooks: BatcherHooks = {}, maxQueued = Number.POSITIVE_INFINITY) {
  // Requests admitted (waiting or running): the bound that keeps a burst from queueing without end.
  let admitted = 0;
  // Keyed by session first, so a reloaded model never shares a queue with its predecessor.
  const queues = new WeakMap<BatchSession, Map<string, Queue>>();
  // Signatures whose outputs turned out not to follow the batch dimension: always run alone.
  const unsplittable = new WeakMap<BatchSession, Set<string>>();
  // Requests and rows waiting for a batch, per model: the queue depth autoscalers read.
  const waiting = new Map<string, { requests: number; rows: number }>();
  const wait = (model: string, requests: number, rows: number) => {
    const w = waiting.get(model) ?? { requests: 0, rows: 0 };
    w.requests += requests;
    w.rows += rows;
    waiting.set(model, w);
  };

  async function run(target: BatchTarget, feeds: Feeds, rows: number, requests: number): Promise<Outputs> {
    hooks.onRun?.(target, rows, requests, policyFor(target.model).maxBatchSize);
    return (await target.session.run(feeds)) as Outputs;
  }

  /** Starts the next batch unless one is running; the queue keeps filling meanwhile. */
  function flush(q: Queue): void {
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    if (q.running || !q.pending.length) return;
    let rows = 0;
    let n = 0;
    while (n < q.pending.length && (n === 0 || rows + q.pending[n]!.rows <= q.policy.maxBatchSize)) rows += q.pending[n++]!.rows;
    const batch = q.pending.splice(0, n);
    q.rows -= rows;
    wait(q.target.model, -batch.length, -rows);
    q.running = true;
    void runBatch(q.target, batch, rows).finally(() => {
      q.running = false;
      // Drop idle queues, so signatures seen once (a symbolic non-batch dim) do not pile up.
      if (!q.pending.length) queues.get(q.target.session)?.delete(q.signature);
      schedule(q);
    });
  }

  /** Flushes now if the queue is full or its oldest request has waited long enough, else sets the timer. */
  function schedule(q: Queue): void {
    const oldest = q.pending[0];
    if (!oldest || q.running || q.timer) return;
    const wait = oldest.enqueuedAt + q.policy.maxQueueDelayMs - performance.now();
    if (q.rows >= q.policy.maxBatchSize || wait <= 0) flush(q);
    else q.timer = setTimeout(() => flush(q), wait);
  }

  async function runBatch(target: BatchTarget, taken: Pending[], takenRows: number): Promise<void> {
    const now = performance.now();
    // Requests nobody waits for any more are answered unrun, so they cost no inference.
    const batch = taken.filter((p) => {
      const dropped = expired(p.expiry, now);
      if (dropped) {
        hooks.onDropped?.(target, dropped);
        p.reject(droppedError(dropped));
      }
      return !dropped;
    });
    if (!batch.length) return;
    const rows = batch.length === taken.length ? takenRows : batch.reduce((n, p) => n + p.rows, 0);
    for (const p of batch) hooks.onQueued?.(target, now - p.enqueuedAt);
    const alone = (p: Pending) => run(target, p.feeds, p.rows, 1).then(p.resolve, p.reject);
    if (batch.length === 1) return alone(batch[0]!);
    let parts: Outputs[] | undefined;
    try {
      parts = split(await run(target, concat(batch.map((p) => p.feeds)), rows, batch.length), batch.map((p) => p.rows));
      if (!parts) signaturesOf(unsplittable, target.session).add(signature(batch[0]!.feeds));
    } catch {
      // A merged run that fails is retried request by request, so one bad input fails alone.
    }
    if (parts) batch.forEach((p, i) => p.resolve(parts[i]!));
    else for (const p of batch) await alone(p);
  }

  return {
    /** Requests and rows waiting for a batch right now, per model. */
    waiting: (): ReadonlyMap<string, { requests: number; rows: number }> => waiting,
    /** Requests admitted now (waiting for a batch or running). */
    admitted: () => admitted,
    async infer(target: BatchTarget, feeds: Feeds, expiry: Expiry = {}): Promise<Outputs> {
      checkFeeds(target.session, feeds);
      if (admitted >= maxQueued) {
        hooks.onDropped?.(target, "queue_full");
        throw new ApiError("unavailable", `the origin's queue is full (${maxQueued} requests); retry shortly or on another node`, { retry_after_s: 1 });
      }
      admitted++;
      try {
        return await admit(target, feeds, expiry);
      } finally {
        admitted--;
      }
    },
  };

  function admit(target: BatchTarget, feeds: Feeds, expiry: Expiry): Promise<Outputs> {
    const dropped = expired(expiry, performance.now());
    if (dropped) {
      hooks.onDropped?.(target, dropped);
      return Promise.reject(droppedError(dropped));
    }
    const policy = policyFor(target.model);
    const rows = batchRows(feeds);
    const sig = signature(feeds);
    if (rows === undefined || rows >= policy.maxBatchSize || policy.maxBatchSize <= 1 || unsplittable.get(target.session)?.has(sig)) {
      hooks.onQueued?.(target, 0);
      return run(target, feeds, rows ?? 1, 1);
    }
    let byKey = queues.get(target.session);
    if (!byKey) queues.set(target.session, (byKey = new Map()));
    let q = byKey.get(sig);
    if (!q) byKey.set(sig, (q = { target, signature: sig, policy, pending: [], rows: 0, running: false }));
    const queue = q;
    return new Promise<Outputs>((resolve, reject) => {
      queue.pending.push({ feeds, expiry, rows, enqueuedAt: performance.now(), resolve, reject });
      queue.rows += rows;
      wait(target.model, 1, rows);
      schedule(queue);
    });
  }
}

function expired(expiry: Expiry, now: number): DropReason | undefined {
  if (expiry.signal?.aborted) return "disconnected";
  if (expiry.deadline !== undefined && now >= expiry.deadline) return "deadline";
  return undefined;
}

function droppedError(reason: DropReason): ApiError {
  return reason === "deadline"
    ? new ApiError("unavailable", "the request's deadline passed before it ran (not run)", { reason })
    : new ApiError("unavailable", "the caller disconnected before the request ran (not run)", { reason });
}

function signaturesOf(map: WeakMap<BatchSession, Set<string>>, session: BatchSession): Set<string> {
  let set = map.get(session);
  if (!set) map.set(session, (set = new Set()));
  return set;
}

/** Names, element types and per-row shapes: requests with equal signatures can share a run. */
function signature(feeds: Feeds): string {
  return Object.keys(feeds)
    .sort()
    .map((name) => `${name}:${feeds[name]!.type}:${feeds[name]!.dims.slice(1).join("x")}`)
    .join("|");
}

/** The rows of a request: the shared first dimension of all its inputs, or undefined if there is none. */
function batchRows(feeds: Feeds): number | undefined {
  const firsts = new Set(Object.values(feeds).map((t) => (t.dims.length ? t.dims[0] : undefined)));
  const [rows] = firsts;
  return firsts.size === 1 && rows !== undefined && rows > 0 ? rows : undefined;
}

/** Checks a request's tensors against the session's inputs, so a bad one is refused before it joins a batch. */
function checkFeeds(session: BatchSession, feeds: Feeds): void {
  for (const name of Object.keys(feeds)) {
    if (!session.inputNames.includes(name)) throw new ApiError("bad_request", `inputs.${name}: the model has no such input (it takes ${session.inputNames.join(", ")})`);
  }
  for (const meta of session.inputMetadata) {
    const t = feeds[meta.name];
    if (!t) throw new ApiError("bad_request", `inputs.${meta.name}: missing (the model takes ${session.inputNames.join(", ")})`);
    if (!meta.isTensor) continue;
    if (t.type !== meta.type) throw new ApiError("bad_request", `inputs.${meta.name}.datatype: the model takes ${oipDatatype(meta.type)}, not ${oipDatatype(t.type)}`);
    const fits = meta.shape.length === 0 || (meta.shape.length === t.dims.length && meta.shape.every((d, i) => typeof d !== "number" || d < 0 || d === t.dims[i]));
    if (!fits) throw new ApiError("bad_request", `inputs.${meta.name}: shape [${t.dims.join(", ")}] does not fit the model's [${meta.shape.join(", ")}]`);
  }
}

function concat(requests: Feeds[]): Feeds {
  const first = requests[0]!;
  const merged: Feeds = {};
  for (const [name, t] of Object.entries(first)) {
    const parts = requests.map((f) => f[name]!);
    const rows = parts.reduce((n, p) => n + p.dims[0]!, 0);
    merged[name] = new ort.Tensor(t.type, concatData(parts.map((p) => p.data)) as Float32Array, [rows, ...t.dims.slice(1)]);
  }
  return merged;
}

function concatData(parts: ort.Tensor["data"][]): ort.Tensor["data"] {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as string[][]).flat();
  const out = new (first.constructor as new (length: number) => Float32Array)(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p as Float32Array, offset);
    offset += p.length;
  }
  return out;
}

/** Each request's rows of every output, or undefined when an output does not follow the batch dimension. */
function split(outputs: Outputs, rows: number[]): Outputs[] | undefined {
  const total = rows.reduce((a, b) => a + b, 0);
  const parts: Outputs[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) return undefined;
    const width = t.data.length / total;
    let start = 0;
    rows.forEach((r, i) => {
      const data = Array.isArray(t.data) ? t.data.slice(start * width, (start + r) * width) : (t.data as Float32Array).subarray(start * width, (start + r) * width);
      parts[i]![name] = new ort.Tensor(t.type, data as Float32Array, [r, ...t.dims.slice(1)]);
      start += r;
    });
  }
  return parts;
}
