// One prediction, whatever API it came through: route (or pin), resolve features, infer, fall
// back when the chosen version cannot serve, then log and run shadows off the response path.
import type { Context } from "hono";
import { gatewayConfig } from "../config.ts";
import { ApiError, encodeRows, inputWidth, predictionKey, resolveRow, unknownFeatures, type Snapshot, type SnapshotModel, type SnapshotVersion } from "@verge/shared";
import type { AppEnv } from "../http/app.ts";
import { lookupFeatures, type LookupRow } from "../features/lookup.ts";
import { onlineStore } from "../features/store.ts";
import { edgeRuntime } from "../inference/edge.ts";
import { originRuntime } from "../inference/origin.ts";
import { poolFor } from "../inference/pools.ts";
import { outputsPerRow, type ModelRuntime } from "../inference/runtime.ts";
import { failedAttempt, failureClass, requestColo, sendLogs, type Prediction } from "../logging/log.ts";
import { routeRequest } from "../routing/route.ts";

/** Feature rows (resolved against the version's feature spec), or the model's input tensor as is. */
export type ServeInput =
  | { kind: "rows"; rows: readonly LookupRow[]; entities?: Record<string, string> | undefined }
  | { kind: "tensor"; data: Float32Array; rows: number };

export interface ServeRequest {
  model: SnapshotModel;
  unit: string | undefined;
  requestId: string;
  input: ServeInput;
  /** A version to serve directly, bypassing routing (Open Inference Protocol's versioned route). */
  pinned?: number;
}

export interface Served {
  variant: string;
  version: number;
  routedBy: "unit" | "request_id" | "pinned";
  prediction: Prediction;
  fallback?: { from: string; reason: string };
  latency: { total: number; features: number; infer: number };
}

export async function serve(c: Context<AppEnv>, req: ServeRequest, started = Date.now()): Promise<Served> {
  const snapshot = c.get("snapshot");
  const { model, requestId } = req;
  const routingKey = req.unit ?? requestId;
  let route: { variant: string; version: number; shadows: number[] };
  if (req.pinned !== undefined) {
    if (!model.versions[String(req.pinned)]) throw new ApiError("not_found", `model "${model.name}" has no version ${req.pinned}`);
    route = { variant: "pinned", version: req.pinned, shadows: [] };
  } else {
    if (!model.deployment) throw new ApiError("unavailable", `model "${model.name}" has no deployment`);
    route = routeRequest(model.deployment, routingKey);
  }
  const keyId = c.get("key")?.id;
  const log = (variant: string, p: Prediction, latency: Served["latency"], failure?: string) =>
    c.executionCtx.waitUntil(sendLogs(c.env, snapshot, { requestId, model: model.name, variant, unit: routingKey, latency, shadow: false, status: failure ? "error" : "ok", error: failure, keyId, colo: requestColo(c.req.raw) }, p));
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
    prediction = await infer(c.env, model, route.version, req.input);
  } catch (err) {
    logFailure(route.variant, route.version, err);
    // The chosen version cannot serve (origin down, artifact refused): the deployment's edge
    // fallback answers instead.
    const fb = req.pinned === undefined ? model.deployment?.variants.find((v) => v.name === model.deployment!.fallback) : undefined;
    if (!(err instanceof ApiError) || err.code !== "unavailable" || !fb || fb.version === route.version) throw err;
    try {
      prediction = await infer(c.env, model, fb.version, req.input);
    } catch (fbErr) {
      logFailure(fb.name, fb.version, fbErr);
      throw fbErr;
    }
    served = { variant: fb.name, version: fb.version };
    fallback = { from: route.variant, reason: err.message };
  }
  const latency = { total: Date.now() - started, features: prediction.featureMs, infer: Date.now() - inferStarted - prediction.featureMs };
  if (!prediction.outputs.every((o) => Object.values(o).every((v) => (typeof v === "number" ? Number.isFinite(v) : v.every(Number.isFinite))))) {
    // Valid but extreme inputs can overflow the model: say so, and count it as an error.
    log(served.variant, { ...prediction, outputs: Array.from({ length: rows }, () => ({})) }, latency, "non_finite");
    throw new ApiError("bad_request", "features: these values make the model's output non-finite (overflow); check their scale");
  }
  log(served.variant, prediction, latency);
  if (route.shadows.length) c.executionCtx.waitUntil(runShadows(c.env, snapshot, model, route.shadows, req.input, { requestId, unit: routingKey, variant: route.variant, keyId, colo: requestColo(c.req.raw) }));
  return {
    ...served,
    routedBy: req.pinned !== undefined ? "pinned" : req.unit === undefined ? "request_id" : "unit",
    prediction,
    latency,
    ...(fallback ? { fallback } : {}),
  };
}

export function servedHeaders(requestId: string, s: Served): Record<string, string> {
  return {
    "x-request-id": requestId,
    "x-verge-variant": s.variant,
    "x-verge-model-version": String(s.version),
    "server-timing": `features;dur=${s.latency.features}, infer;dur=${s.latency.infer}, total;dur=${s.latency.total}`,
  };
}

const rowCount = (input: ServeInput) => (input.kind === "rows" ? input.rows.length : input.rows);

/** A request the model never saw: its features or tensor were refused before inference. */
export const isInputError = (err: unknown) => err instanceof ApiError && (err.code === "bad_request" || err.code === "not_found");

/** Resolves features (request, then online store) and runs one version over all rows. */
export async function infer(env: Env, model: SnapshotModel, version: number, input: ServeInput): Promise<Prediction> {
  const spec = model.versions[String(version)];
  if (!spec) throw new ApiError("unavailable", `version ${version} of "${model.name}" is not in the snapshot`);
  const t0 = Date.now();
  let tensor: Float32Array;
  let features: Prediction["features"];
  let degraded: Prediction["degraded"];
  let ignored: Prediction["ignored"];
  if (input.kind === "tensor") {
    const width = inputWidth(spec.feature_spec);
    if (input.data.length !== input.rows * width) throw new ApiError("bad_request", `inputs.${spec.feature_spec.input}: version ${version} takes [N, ${width}]`);
    tensor = input.data;
    features = Array(input.rows).fill({});
    degraded = Array(input.rows).fill([]);
  } else {
    const precomputed = spec.precomputed ? await readPrecomputed(env, model.name, spec, input) : undefined;
    if (precomputed) return { version, features: input.rows.map(() => ({})), degraded: input.rows.map(() => []), outputs: precomputed, featureMs: Date.now() - t0, source: "precomputed" };
    const online = await lookupFeatures(onlineStore(env), spec.feature_spec, input.rows, input.entities, gatewayConfig(env).FEATURE_DEADLINE_MS);
    const many = input.rows.length > 1;
    const resolved = online.raw.map((r, i) => resolveRow(spec.feature_spec, r, many ? `instances[${i}].features` : "features", online.reasons[i]));
    tensor = encodeRows(spec.feature_spec, resolved.map((r) => r.values));
    features = resolved.map((r) => r.values);
    degraded = resolved.map((r) => r.defaulted);
    ignored = resolved.map((r, i) => [...unknownFeatures(spec.feature_spec, input.rows[i]?.features), ...r.ignored]);
  }
  const featureMs = Date.now() - t0;
  const rows = rowCount(input);
  const outputs = await runtimeFor(env, model.name, spec).run(spec, tensor, rows);
  return { version, features, degraded, ...(ignored?.some((x) => x.length) ? { ignored } : {}), outputs: outputsPerRow(outputs, rows), featureMs, ...(spec.precomputed ? { source: "realtime" as const } : {}) };
}

/**
 * Batch predictions for every row, if all are present and fresh; otherwise undefined, and the
 * version runs in real time (all rows, so one response never mixes the two).
 */
async function readPrecomputed(env: Env, model: string, spec: SnapshotVersion, input: Extract<ServeInput, { kind: "rows" }>): Promise<Record<string, number | number[]>[] | undefined> {
  const { entity, max_age_s } = spec.precomputed!;
  const store = onlineStore(env);
  const ids = input.rows.map((r) => r.entities?.[entity] ?? input.entities?.[entity]);
  if (!store || ids.some((id) => id === undefined)) return undefined;
  const found = await store.getMany(ids.map((id) => predictionKey(model, spec.version, id!))).catch(() => undefined);
  const now = Date.now();
  if (!found || found.some((r) => !r || now - r.ts > max_age_s * 1000)) return undefined;
  return found.map((r) => r!.values as Record<string, number | number[]>);
}

function runtimeFor(env: Env, model: string, spec: SnapshotVersion): ModelRuntime {
  if (spec.runtime === "edge") return edgeRuntime(env.ARTIFACTS, gatewayConfig(env).EDGE_SESSION_BUDGET_BYTES);
  return originRuntime({ pool: poolFor(env, spec.pool), model });
}

async function runShadows(env: Env, snapshot: Snapshot, model: SnapshotModel, versions: number[], input: ServeInput, ids: { requestId: string; unit: string; variant: string; keyId: string | undefined; colo: string | undefined }): Promise<void> {
  for (const version of versions) {
    const started = Date.now();
    let prediction: Prediction;
    try {
      prediction = await infer(env, model, version, input);
    } catch (err) {
      // A failing shadow never touches the response, but its failure is counted like any other.
      if (isInputError(err)) continue;
      const failedMs = Date.now() - started;
      await sendLogs(env, snapshot, { ...ids, model: model.name, latency: { total: failedMs, features: 0, infer: failedMs }, shadow: true, status: "error", error: failureClass(err) }, failedAttempt(version, rowCount(input)));
      continue;
    }
    const total = Date.now() - started;
    await sendLogs(env, snapshot, { ...ids, model: model.name, latency: { total, features: prediction.featureMs, infer: total - prediction.featureMs }, shadow: true }, prediction);
  }
}
