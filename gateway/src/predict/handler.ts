// POST /v1/models/{model}/predict: authenticate, route, resolve features, infer, respond, log.
import type { Context } from "hono";
import { ApiError, encodeRows, resolveRow, type Degraded, type PredictRequest, type PredictResponse, type Snapshot, type SnapshotModel } from "@verge/shared";
import type { AppEnv } from "../http/app.ts";
import { lookupFeatures, type LookupRow } from "../features/lookup.ts";
import { onlineStore } from "../features/store.ts";
import { edgeRuntime } from "../inference/edge.ts";
import { originRuntime } from "../inference/origin.ts";
import { outputsPerRow, type ModelRuntime } from "../inference/runtime.ts";
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
  let served: { variant: string; version: number } = route;
  let prediction: Prediction;
  let fallback: PredictResponse["fallback"];
  try {
    prediction = await infer(c.env, model, route.version, rawRows, body.entities);
  } catch (err) {
    // The chosen version cannot serve (origin down, artifact refused): the deployment's edge
    // fallback answers instead, and the failed attempt is logged as an error of its own version.
    const fb = model.deployment.variants.find((v) => v.name === model.deployment!.fallback);
    if (!(err instanceof ApiError) || err.code !== "unavailable" || !fb || fb.version === route.version) throw err;
    const failedAt = Date.now();
    c.executionCtx.waitUntil(
      sendLogs(c.env, snapshot, { requestId, model: modelName, variant: route.variant, unit: unit ?? requestId, latency: { total: failedAt - started, features: 0, infer: failedAt - featuresStarted }, shadow: false, status: "error" }, {
        version: route.version,
        features: rawRows.map(() => ({})),
        degraded: rawRows.map(() => []),
        outputs: rawRows.map(() => ({})),
        featureMs: 0,
      }),
    );
    prediction = await infer(c.env, model, fb.version, rawRows, body.entities);
    served = { variant: fb.name, version: fb.version };
    fallback = { from: route.variant, reason: err.message };
  }
  const inferDone = Date.now();

  const many = body.instances !== undefined;
  const response: PredictResponse = {
    request_id: requestId,
    model: modelName,
    version: served.version,
    variant: served.variant,
    routed_by: unit === undefined ? "request_id" : "unit",
    outputs: many ? prediction.outputs : prediction.outputs[0]!,
    ...(fallback ? { fallback } : {}),
  };
  const degraded = prediction.degraded.flat();
  if (degraded.length) response.degraded = many ? dedupe(degraded) : degraded;

  const latency = { total: Date.now() - started, features: prediction.featureMs, infer: inferDone - featuresStarted - prediction.featureMs };
  c.executionCtx.waitUntil(
    sendLogs(c.env, snapshot, { requestId, model: modelName, variant: served.variant, unit: unit ?? requestId, latency, shadow: false }, prediction),
  );
  if (route.shadows.length) c.executionCtx.waitUntil(runShadows(c.env, snapshot, model, route.shadows, rawRows, { requestId, unit: unit ?? requestId, variant: route.variant }, body.entities));

  return c.json(response, 200, {
    "x-request-id": requestId,
    "x-verge-variant": served.variant,
    "x-verge-model-version": String(served.version),
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
  const outputs = await runtimeFor(env, model.name, spec.runtime).run(spec, input, rawRows.length);
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

function runtimeFor(env: Env, model: string, runtime: "edge" | "origin"): ModelRuntime {
  if (runtime === "edge") return edgeRuntime(env.ARTIFACTS);
  if (!env.ORIGIN_URL || !env.ORIGIN_SECRET) throw new ApiError("unavailable", "origin: this gateway has no origin configured (ORIGIN_URL, ORIGIN_SECRET)");
  return originRuntime({ url: env.ORIGIN_URL, secret: env.ORIGIN_SECRET, deadlineMs: Number(env.ORIGIN_DEADLINE_MS), coolDownMs: Number(env.ORIGIN_BREAKER_COOLDOWN_MS), model });
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
