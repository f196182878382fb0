// Prediction log records, sent to the queue off the response path: one per prediction (per row).
import { gatewayConfig } from "../config.ts";
import { enqueueLogs } from "./batcher.ts";
import { unitHash, type Degraded, type FeatureValue, type LogRecord, type Snapshot } from "@verge/shared";

export interface Prediction {
  version: number;
  features: Record<string, FeatureValue>[];
  degraded: Degraded[][];
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

/** Builds one record per row and hands them to the isolate's batcher. */
export async function sendLogs(env: Env, snapshot: Snapshot, ctx: LogContext, p: Prediction): Promise<void> {
  const ts = Date.now();
  const hash = unitHash(ctx.unit);
  const rows = p.outputs.length;
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
    colo: ctx.colo ?? gatewayConfig(env).COLO,
  }));
  await enqueueLogs(env.PREDICTION_LOGS, records);
}
