// POST /v1/models/{model}/predict: authenticate, route, resolve features, infer, respond, log.
import type { Context } from "hono";
import { ApiError, encodeRows, resolveRow, type Degraded, type PredictRequest, type PredictResponse, type Snapshot, type SnapshotModel } from "@verge/shared";
import type { AppEnv } from "../http/app.ts";
import { lookupFeatures, type LookupRow } from "../features/lookup.ts";
import { onlineStore } from "../features/store.ts";
import { edgeRuntime } from "../inference/edge.ts";
import { outputsPerRow } from "../inference/runtime.ts";
import { sendLogs, type Prediction } from "../logging/log.ts";
import { routeRequest } from "../routing/route.ts";

export async function predict(c: Context<AppEnv>, modelName: string, body: PredictRequest): Promise<Response> {
  const started = Date.now();
  const snapshot = c.get("snapshot");
  const model = snapshot.models[modelName];
  if (!model) throw new ApiError("not_found", `model "${modelName}" does not exist`);
  if (!model.deployment) throw new ApiError("unavailable", `model "${modelName}" has no deployment`);

  const headerUnit = c.req.header("x-verge-unit");
  const unit = body.unit ?? (headerUnit ? headerUnit.slice(0, 256) : undefined);
  const requestId = body.request_id ?? c.req.header("x-request-id")?.slice(0, 128) ?? crypto.randomUUID();
  const route = routeRequest(model.deployment, unit ?? requestId);
  const rawRows: LookupRow[] = body.instances ?? [{ features: body.features, entities: body.entities }];

  const featuresStarted = Date.now();
  const prediction = await infer(c.env, model, route.version, rawRows, body.entities);
  const inferDone = Date.now();

  const many = body.instances !== undefined;
  const response: PredictResponse = {
    request_id: requestId,
    model: modelName,
    version: route.version,
    variant: route.variant,
    routed_by: unit === undefined ? "request_id" : "unit",
    outputs: many ? prediction.outputs : prediction.outputs[0]!,
  };
  const degraded = prediction.degraded.flat();
  if (degraded.length) response.degraded = many ? dedupe(degraded) : degraded;

  const latency = { total: Date.now() - started, features: prediction.featureMs, infer: inferDone - featuresStarted - prediction.featureMs };
  c.executionCtx.waitUntil(
    sendLogs(c.env, snapshot, { requestId, model: modelName, variant: route.variant, unit: unit ?? requestId, latency, shadow: false }, prediction),
  );
  if (route.shadows.length) c.executionCtx.waitUntil(runShadows(c.env, snapshot, model, route.shadows, rawRows, { requestId, unit: unit ?? requestId, variant: route.variant }, body.entities));

  return c.json(response, 200, {
    "x-request-id": requestId,
    "x-verge-variant": route.variant,
    "x-verge-model-version": String(route.version),
    "server-timing": `features;dur=${latency.features}, infer;dur=${latency.infer}, total;dur=${latency.total}`,
  });
}

type RawRows = readonly LookupRow[];

/** Resolves features (request, then online store) and runs one version over all rows. */
async function infer(env: Env, model: SnapshotModel, version: number, rawRows: RawRows, entities?: Record<string, string>): Promise<Prediction> {
  const spec = model.versions[String(version)];
  if (!spec) throw new ApiError("unavailable", `version ${version} of "${model.name}" is not in the snapshot`);
  const t0 = Date.now();
  const online = await lookupFeatures(onlineStore(env), spec.feature_spec, rawRows, entities, Number(env.FEATURE_DEADLINE_MS));
  const resolved = online.raw.map((r, i) => resolveRow(spec.feature_spec, r, rawRows.length > 1 ? `instances[${i}].features` : "features", online.reasons[i]));
  const input = encodeRows(spec.feature_spec, resolved.map((r) => r.values));
  const featureMs = Date.now() - t0;
  if (spec.runtime !== "edge") throw new ApiError("unavailable", `version ${version} runs on the origin, which this gateway cannot reach yet`);
  const outputs = await edgeRuntime(env.ARTIFACTS).run(spec, input, rawRows.length);
  return {
    version,
    features: resolved.map((r) => r.values),
    degraded: resolved.map((r) => r.defaulted),
    outputs: outputsPerRow(outputs, rawRows.length),
    featureMs,
  };
}

async function runShadows(
  env: Env,
  snapshot: Snapshot,
  model: SnapshotModel,
  versions: number[],
  rawRows: RawRows,
  ids: { requestId: string; unit: string; variant: string },
  entities?: Record<string, string>,
): Promise<void> {
  for (const version of versions) {
    const started = Date.now();
    try {
      const prediction = await infer(env, model, version, rawRows, entities);
      const total = Date.now() - started;
      await sendLogs(env, snapshot, { ...ids, model: model.name, latency: { total, features: prediction.featureMs, infer: total - prediction.featureMs }, shadow: true }, prediction);
    } catch (err) {
      console.warn(`shadow version ${version} of ${model.name} failed: ${(err as Error).message}`);
    }
  }
}

function dedupe(items: Degraded[]): Degraded[] {
  const seen = new Set<string>();
  return items.filter((d) => {
    const key = `${d.feature}:${d.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
