// Prediction log records, sent to the queue off the response path: one per prediction attempt
// (per row), failures included, redacted by the model's list before they leave the gateway.
import { gatewayConfig } from "../config.ts";
import { enqueueLogs } from "./batcher.ts";
import { ownValue, redactRecord, unitHash, type Degraded, type FeatureValue, type Ignored, type LogRecord, type Snapshot } from "@verge/shared";

export interface Prediction {
  version: number;
  features: Record<string, FeatureValue>[];
  degraded: Degraded[][];
  /** Per row: request features the spec lacks, categorical values outside the vocabulary. */
  ignored?: Ignored[][];
  outputs: Record<string, number | number[]>[];
  featureMs: number;
  /** Set for hybrid versions. */
  source?: "precomputed" | "realtime";
}

export interface LogContext {
  requestId: string;
  model: string;
  variant: string;
  unit: string;
  shadow: boolean;
  latency: LogRecord["latency_ms"];
  status?: LogRecord["status"];
  /** With `status: "error"`: the failure's class. */
  error?: string | undefined;
  /** The client key that asked. */
  keyId?: string | undefined;
  /** Ranked responses: the position of each row, which becomes `{request_id}#{position}`. */
  positions?: number[];
  /** The Cloudflare data center that served the request (`request.cf.colo`). */
  colo?: string | undefined;
}

/** The serving colo as Cloudflare reports it; absent locally, where the COLO setting names it. */
export function requestColo(request: Request): string | undefined {
  const colo = (request as { cf?: { colo?: unknown } }).cf?.colo;
  return typeof colo === "string" && colo ? colo : undefined;
}

/**
 * Builds one record per row and hands them to the isolate's batcher. Returns what the request must
 * hold in waitUntil (its batch's send, or the redaction before it), or undefined when the request
 * only joined a batch another request holds.
 */
export function sendLogs(env: Env, snapshot: Snapshot, ctx: LogContext, p: Prediction): Promise<void> | undefined {
  try {
    return buildAndEnqueue(env, snapshot, ctx, p);
  } catch (err) {
    // Never the response's problem: the failure surfaces where waitUntil reports it.
    return Promise.reject(err);
  }
}

function buildAndEnqueue(env: Env, snapshot: Snapshot, ctx: LogContext, p: Prediction): Promise<void> | undefined {
  const ts = Date.now();
  const hash = unitHash(ctx.unit);
  const rows = p.outputs.length;
  const policy = ownValue(snapshot.models, ctx.model)?.logging;
  const colo = ctx.colo ?? gatewayConfig(env).COLO;
  const records: LogRecord[] = p.outputs.map((outputs, i) => ({
    // Each row of a multi-instance request is its own prediction, with its own identity.
    request_id: ctx.positions ? `${ctx.requestId}#${ctx.positions[i]}` : rows === 1 ? ctx.requestId : `${ctx.requestId}#${i}`,
    ts,
    model: ctx.model,
    version: p.version,
    variant: ctx.variant,
    shadow: ctx.shadow,
    snapshot_version: snapshot.version,
    unit_hash: hash,
    features: p.features[i]!,
    outputs,
    latency_ms: ctx.latency,
    status: ctx.status ?? "ok",
    degraded: p.degraded[i]!,
    colo,
    ...(ctx.error ? { error: ctx.error } : {}),
    ...(ctx.keyId ? { key_id: ctx.keyId } : {}),
    ...namesOf(p.ignored?.[i], "unknown_feature", "unknown_features"),
    ...namesOf(p.ignored?.[i], "out_of_vocabulary", "out_of_vocabulary"),
  }));
  const sink = { queue: env.PREDICTION_LOGS, spill: env.LOGS };
  // Redaction hashes with WebCrypto (async); a model without a redaction list skips it entirely.
  if (policy?.redact.length) return Promise.all(records.map((r) => redactRecord(r, policy))).then((redacted) => enqueueLogs(sink, redacted));
  return enqueueLogs(sink, records);
}

function namesOf<K extends "unknown_features" | "out_of_vocabulary">(ignored: Ignored[] | undefined, reason: Ignored["reason"], field: K): Partial<Record<K, string[]>> {
  const names = ignored?.filter((x) => x.reason === reason).map((x) => x.feature) ?? [];
  return names.length ? ({ [field]: names } as Partial<Record<K, string[]>>) : {};
}

/** A failed attempt's rows: no features or outputs, only that it was tried and failed. */
export function failedAttempt(version: number, rows: number): Prediction {
  return { version, features: Array.from({ length: rows }, () => ({})), degraded: Array.from({ length: rows }, () => []), outputs: Array.from({ length: rows }, () => ({})), featureMs: 0 };
}

/** The class a failure is logged under: the runtime's own reason when it gave one. */
export function failureClass(err: unknown): string {
  const details = (err as { details?: unknown } | undefined)?.details;
  if (details && typeof details === "object" && "reason" in details && typeof details.reason === "string") return details.reason;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "runtime";
}
