// One prediction, whatever API it came through (predict, OIP, each team of a ranking): route (or
// pin, or take a named variant), infer, fall back when the chosen version cannot serve, refuse
// non-finite outputs, then log and run shadows off the response path. It sees only the bindings,
// the snapshot and waitUntil, never an HTTP framework's context.
import { ApiError, type Snapshot, type SnapshotModel } from "@verge/shared";
import { failedAttempt, failureClass, sendLogs, type LogContext, type Prediction } from "../logging/log.ts";
import { routeRequest, shadowsFor } from "../routing/route.ts";
import { pinnedVersion, type RequestIdentity } from "./identity.ts";
import { infer, rowCount, type ServeInput } from "./infer.ts";

export { infer, type ServeInput } from "./infer.ts";

/** What serving needs from the worker: its bindings, the snapshot it admitted the request with, and waitUntil. */
export interface ServeContext {
  env: Env;
  snapshot: Snapshot;
  waitUntil: (p: Promise<unknown>) => void;
}

export interface ServeRequest {
  identity: RequestIdentity;
  input: ServeInput;
  /** The client key that asked, and the colo that served (for log records). */
  keyId?: string | undefined;
  colo?: string | undefined;
  /**
   * Routed by the deployment (default); a pinned version (the Open Inference Protocol's versioned
   * route: no fallback, no shadows); or a named variant of the deployment (a ranking's team).
   */
  target?: { pinned: number } | { variant: string };
  /** Whether sampled shadows run (default true; a ranking runs them once, with its first team). */
  shadows?: boolean;
  /**
   * Ranking: the caller logs the served prediction through `finish` once it knows each row's
   * position; otherwise serve logs it before returning.
   */
  deferLog?: boolean;
  /** When the request arrived (ms since epoch), for the logged latency. */
  started?: number;
}

/** Rows of a prediction to log, each under its ranked position (`{request_id}#{position}`). */
export interface LogSelection {
  rows: number[];
  positions: number[];
}

export interface Served {
  variant: string;
  version: number;
  routedBy: "unit" | "request_id" | "pinned";
  prediction: Prediction;
  fallback?: { from: string; reason: string };
  latency: { total: number; features: number; infer: number };
  /**
   * Logs the served prediction (the selected rows only, when given) and runs the shadows, whose
   * rows are logged under `shadowPositions` when given. Called by serve unless `deferLog`.
   */
  finish(selection?: LogSelection, shadowPositions?: number[]): void;
}

interface Route {
  variant: string;
  version: number;
  shadows: number[];
}

function chooseRoute(req: ServeRequest, routingKey: string): Route {
  const { model } = req.identity;
  const target = req.target;
  if (target && "pinned" in target) {
    pinnedVersion(model, target.pinned);
    return { variant: "pinned", version: target.pinned, shadows: [] };
  }
  const deployment = model.deployment;
  if (!deployment) throw new ApiError("unavailable", `model "${model.name}" has no deployment`);
  if (target) {
    const v = deployment.variants.find((x) => x.name === target.variant);
    if (!v) throw new ApiError("unavailable", `model "${model.name}" has no variant "${target.variant}"`);
    return { variant: v.name, version: v.version, shadows: req.shadows === false ? [] : shadowsFor(deployment, routingKey, v.version) };
  }
  const route = routeRequest(deployment, routingKey);
  return req.shadows === false ? { ...route, shadows: [] } : route;
}

export async function serve(ctx: ServeContext, req: ServeRequest): Promise<Served> {
  const started = req.started ?? Date.now();
  const { model, requestId } = req.identity;
  const routingKey = req.identity.unit ?? requestId;
  const route = chooseRoute(req, routingKey);
  const pinned = req.target !== undefined && "pinned" in req.target;
  const base: Omit<LogContext, "variant" | "latency"> = { requestId, model: model.name, unit: routingKey, shadow: false, keyId: req.keyId, colo: req.colo };
  const log = (variant: string, p: Prediction, latency: Served["latency"], failure?: string, positions?: number[]) => {
    const held = sendLogs(ctx.env, ctx.snapshot, { ...base, variant, latency, ...(failure ? { status: "error" as const, error: failure } : {}), ...(positions ? { positions } : {}) }, p);
    if (held) ctx.waitUntil(held);
  };
  const rows = rowCount(req.input);
  // Every attempt that reached a model is logged, a failed one as an error of its own version, so
  // error-rate guardrails and rollbacks see outages. Bad input never reached a model: not logged.
  const logFailure = (variant: string, version: number, err: unknown) => {
    if (isInputError(err)) return;
    const failedMs = Date.now() - started;
    log(variant, failedAttempt(version, rows), { total: failedMs, features: 0, infer: failedMs }, failureClass(err));
  };

  const inferStarted = Date.now();
  let served = { variant: route.variant, version: route.version };
  let prediction: Prediction;
  let fallback: Served["fallback"];
  try {
    prediction = await infer(ctx.env, model, route.version, req.input);
  } catch (err) {
    logFailure(route.variant, route.version, err);
    // The chosen version cannot serve (origin down, artifact refused): the deployment's edge
    // fallback answers instead.
    const fb = pinned ? undefined : model.deployment?.variants.find((v) => v.name === model.deployment!.fallback);
    if (!(err instanceof ApiError) || err.code !== "unavailable" || !fb || fb.version === route.version) throw err;
    try {
      prediction = await infer(ctx.env, model, fb.version, req.input);
    } catch (fbErr) {
      logFailure(fb.name, fb.version, fbErr);
      throw fbErr;
    }
    served = { variant: fb.name, version: fb.version };
    fallback = { from: route.variant, reason: err.message };
  }
  const latency = { total: Date.now() - started, features: prediction.featureMs, infer: Date.now() - inferStarted - prediction.featureMs };
  if (!allFinite(prediction.outputs)) {
    // Valid but extreme inputs can overflow the model: say so, and count it as an error.
    log(served.variant, { ...prediction, outputs: Array.from({ length: rows }, () => ({})) }, latency, "non_finite");
    throw new ApiError("bad_request", "features: these values make the model's output non-finite (overflow); check their scale");
  }
  const result: Served = {
    ...served,
    routedBy: pinned ? "pinned" : req.identity.unit === undefined ? "request_id" : "unit",
    prediction,
    latency,
    ...(fallback ? { fallback } : {}),
    finish(selection, shadowPositions) {
      if (selection) {
        if (selection.rows.length) log(served.variant, pickRows(prediction, selection.rows), latency, undefined, selection.positions);
      } else log(served.variant, prediction, latency);
      if (route.shadows.length) {
        const ids = { ...base, variant: route.variant, ...(shadowPositions ? { positions: shadowPositions } : {}) };
        ctx.waitUntil(runShadows(ctx, model, route.shadows, req.input, ids));
      }
    },
  };
  if (!req.deferLog) result.finish();
  return result;
}

function allFinite(outputs: Prediction["outputs"]): boolean {
  for (const o of outputs) {
    for (const k in o) {
      const v = o[k]!;
      if (typeof v === "number" ? !Number.isFinite(v) : !v.every(Number.isFinite)) return false;
    }
  }
  return true;
}

function pickRows(p: Prediction, rows: number[]): Prediction {
  return { ...p, features: rows.map((i) => p.features[i]!), degraded: rows.map((i) => p.degraded[i]!), outputs: rows.map((i) => p.outputs[i]!) };
}

export function servedHeaders(requestId: string, s: Served): Record<string, string> {
  return {
    "x-request-id": requestId,
    "x-verge-variant": s.variant,
    "x-verge-model-version": String(s.version),
    "server-timing": `features;dur=${s.latency.features}, infer;dur=${s.latency.infer}, total;dur=${s.latency.total}`,
  };
}

/** A request the model never saw: its features or tensor were refused before inference. */
export const isInputError = (err: unknown) => err instanceof ApiError && (err.code === "bad_request" || err.code === "not_found");

async function runShadows(ctx: ServeContext, model: SnapshotModel, versions: number[], input: ServeInput, ids: Omit<LogContext, "latency">): Promise<void> {
  for (const version of versions) {
    const started = Date.now();
    let prediction: Prediction;
    try {
      prediction = await infer(ctx.env, model, version, input);
    } catch (err) {
      // A failing shadow never touches the response, but its failure is counted like any other.
      if (isInputError(err)) continue;
      const failedMs = Date.now() - started;
      await sendLogs(ctx.env, ctx.snapshot, { ...ids, latency: { total: failedMs, features: 0, infer: failedMs }, shadow: true, status: "error", error: failureClass(err) }, failedAttempt(version, rowCount(input)));
      continue;
    }
    const total = Date.now() - started;
    await sendLogs(ctx.env, ctx.snapshot, { ...ids, latency: { total, features: prediction.featureMs, infer: total - prediction.featureMs }, shadow: true }, prediction);
  }
}
