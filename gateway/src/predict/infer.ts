// Running one version over a request's input: features resolved (request, then online store),
// precomputed predictions for hybrid versions, then the version's runtime.
import { gatewayConfig } from "../config.ts";
import { ApiError, encodeRows, inputWidth, predictionKey, resolveRow, unknownFeatures, type SnapshotModel, type SnapshotVersion } from "@verge/shared";
import { lookupFeatures, type LookupRow } from "../features/lookup.ts";
import { rowCache, type RowCache } from "../features/row-cache.ts";
import { onlineStore } from "../features/store.ts";
import { edgeRuntime } from "../inference/edge.ts";
import { originRuntime } from "../inference/origin.ts";
import { poolFor } from "../inference/pools.ts";
import { outputsPerRow, type ModelRuntime } from "../inference/runtime.ts";
import type { Prediction } from "../logging/log.ts";

/** Feature rows (resolved against the version's feature spec), or the model's input tensor as is. */
export type ServeInput =
  | { kind: "rows"; rows: readonly LookupRow[]; entities?: Record<string, string> | undefined }
  | { kind: "tensor"; data: Float32Array; rows: number };

export const rowCount = (input: ServeInput) => (input.kind === "rows" ? input.rows.length : input.rows);

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
    const config = gatewayConfig(env);
    const online = await lookupFeatures(onlineStore(env), spec.feature_spec, input.rows, input.entities, config.FEATURE_DEADLINE_MS, Date.now(), featureCache(config.FEATURE_CACHE_ENTRIES));
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

let cache: { entries: number; rows: RowCache } | undefined;

/** The isolate's cache of view rows (views with `cache_s`); a changed size setting starts a new one. */
function featureCache(entries: number): RowCache {
  if (cache?.entries !== entries) cache = { entries, rows: rowCache(entries) };
  return cache.rows;
}

function runtimeFor(env: Env, model: string, spec: SnapshotVersion): ModelRuntime {
  if (spec.runtime === "edge") return edgeRuntime(env.ARTIFACTS, gatewayConfig(env).EDGE_SESSION_BUDGET_BYTES);
  return originRuntime({ pool: poolFor(env, spec.pool), model });
}
