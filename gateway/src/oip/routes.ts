// The Open Inference Protocol v2 (KServe v2 / Triton REST) on the gateway, so existing clients
// work unchanged. Inputs are either the model's own input tensor ([N, width], FP32), or one
// tensor per feature ([N] or [N, 1]; BYTES for categorical, BOOL for boolean).
import { ApiError, flattenTensor, nameSchema, oipInferRequestSchema, versionNumberSchema, type FeatureValue, type OipInferRequest, type OipInferResponse, type SnapshotModel, type SnapshotVersion } from "@verge/shared";
import { gatewayApi as api } from "@verge/shared/api/gateway";
import { describe } from "@verge/shared/openapi";
import { z } from "zod";
import { requireClientKey } from "../auth/client-key.ts";
import type { Context } from "hono";
import { jsonBody, newApp, validate, type AppEnv } from "../http/app.ts";
import { caller, serveContext } from "../http/serve-context.ts";
import { findModel, pinnableVersions, pinnedVersion, requestIdentity } from "../predict/identity.ts";
import { serve, servedHeaders, type ServeInput } from "../predict/serve.ts";

const modelParam = z.object({ model: nameSchema });
const versionParam = modelParam.extend({ version: versionNumberSchema });

/** What this server implements of the protocol: its core only (no optional extensions). */
export const SERVER_METADATA = { name: "verge-gateway", version: "1", extensions: [] as string[] };

export const oipRoutes = newApp()
  .get("/", describe(api.serverMetadata), (c) => c.json(SERVER_METADATA))
  .get("/health/live", describe(api.live), (c) => c.json({ live: true }))
  .get("/health/ready", describe(api.ready), (c) => c.json({ ready: true }))
  .get("/models/:model", describe(api.modelMetadata), validate("param", modelParam), requireClientKey(), (c) => {
    const model = findModel(c.get("snapshot"), c.req.valid("param").model);
    return c.json(metadata(model, primaryVersion(model), [...pinnableVersions(model)].sort((a, b) => a - b).map(String)));
  })
  .get("/models/:model/ready", describe(api.modelReady), validate("param", modelParam), requireClientKey(), (c) => {
    const model = findModel(c.get("snapshot"), c.req.valid("param").model);
    if (!model.deployment) throw new ApiError("unavailable", `model "${model.name}" has no deployment`);
    return c.json({ name: model.name, ready: true });
  })
  .get("/models/:model/versions/:version", describe(api.versionMetadata), validate("param", versionParam), requireClientKey(), (c) => {
    const { model: name, version } = c.req.valid("param");
    const model = findModel(c.get("snapshot"), name);
    return c.json(metadata(model, pinnedVersion(model, version), [String(version)]));
  })
  .get("/models/:model/versions/:version/ready", describe(api.versionReady), validate("param", versionParam), requireClientKey(), (c) => {
    const { model: name, version } = c.req.valid("param");
    pinnedVersion(findModel(c.get("snapshot"), name), version);
    return c.json({ name, ready: true });
  })
  .post("/models/:model/infer", describe(api.infer), validate("param", modelParam), requireClientKey(), jsonBody(oipInferRequestSchema), (c) => infer(c, c.req.valid("param").model, c.req.valid("json")))
  .post("/models/:model/versions/:version/infer", describe(api.versionInfer), validate("param", versionParam), requireClientKey(), jsonBody(oipInferRequestSchema), (c) => {
    const { model, version } = c.req.valid("param");
    return infer(c, model, c.req.valid("json"), version);
  });

/** The protocol's model metadata: tensors of the given version (the primary one for the model). */
function metadata(model: SnapshotModel, spec: SnapshotVersion | undefined, versions: string[]) {
  const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return {
    name: model.name,
    versions,
    platform: "onnxruntime_onnx",
    inputs: spec ? spec.inputs.map(tensor) : [],
    outputs: spec ? spec.outputs.map(tensor) : [],
    parameters: { runtime: spec?.runtime ?? null, features: spec?.feature_spec.features.map((f) => ({ name: f.name, type: f.type })) ?? [] },
  };
}

async function infer(c: Context<AppEnv>, modelName: string, body: OipInferRequest, pinned?: number): Promise<Response> {
  const started = Date.now();
  const identity = requestIdentity(c.get("snapshot"), c.req.raw.headers, modelName, { requestId: { value: body.id, field: "id" }, unit: { value: body.parameters?.unit, field: "parameters.unit" } });
  const { model, requestId } = identity;
  const spec = pinned !== undefined ? pinnedVersion(model, pinned) : primaryVersion(model);
  if (!spec) throw new ApiError("unavailable", `model "${modelName}" has no deployment`);
  const s = await serve(serveContext(c), { identity, input: toInput(body, spec.feature_spec.input), ...caller(c), ...(pinned !== undefined ? { target: { pinned } } : {}), started });

  const rows = s.prediction.outputs;
  const names = Object.keys(rows[0] ?? {});
  const wanted = body.outputs?.map((o) => o.name);
  // Input the model never saw, deduplicated over rows (as the predict API's `ignored`).
  const ignored = [...new Map((s.prediction.ignored?.flat() ?? []).map((x) => [`${x.reason}:${x.feature}`, x])).values()];
  const response: OipInferResponse = {
    model_name: modelName,
    model_version: String(s.version),
    id: requestId,
    parameters: { variant: s.variant, routed_by: s.routedBy, ...(s.fallback ? { fallback_from: s.fallback.from } : {}), ...(ignored.length ? { ignored } : {}) },
    outputs: names
      .filter((n) => !wanted || wanted.includes(n))
      .map((name) => {
        const data = rows.flatMap((r) => r[name] as number | number[]);
        return { name, datatype: "FP32", shape: [rows.length, data.length / Math.max(rows.length, 1)], data };
      }),
  };
  return c.json(response, 200, servedHeaders(requestId, s));
}

/** The model's input tensor as is, or one tensor per feature turned into rows. */
function toInput(body: OipInferRequest, modelInput: string): ServeInput {
  const raw = body.inputs.find((t) => t.name === modelInput);
  if (raw) {
    if (body.inputs.length > 1) throw new ApiError("bad_request", `inputs: give either "${modelInput}" alone or one tensor per feature`);
    if (raw.shape.length !== 2) throw new ApiError("bad_request", `inputs.${raw.name}.shape: expected [N, width]`);
    if (!["FP32", "FP64"].includes(raw.datatype)) throw new ApiError("bad_request", `inputs.${raw.name}.datatype: expected FP32`);
    return { kind: "tensor", data: Float32Array.from(flattenTensor(raw) as number[]), rows: raw.shape[0]! };
  }
  let n: number | undefined;
  const columns = body.inputs.map((t) => {
    if (t.shape.length === 0 || t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1)) {
      throw new ApiError("bad_request", `inputs.${t.name}.shape: a feature tensor is [N] or [N, 1]`);
    }
    if (n !== undefined && t.shape[0] !== n) throw new ApiError("bad_request", `inputs.${t.name}.shape: every feature tensor needs the same N (${n})`);
    n = t.shape[0]!;
    return { name: t.name, values: flattenTensor(t) };
  });
  const rows = Array.from({ length: n ?? 0 }, (_, i) => ({ features: Object.fromEntries(columns.map((col) => [col.name, col.values[i] as FeatureValue])) }));
  if (rows.length === 0) throw new ApiError("bad_request", "inputs: N must be at least 1");
  return { kind: "rows", rows };
}

function primaryVersion(model: SnapshotModel) {
  const first = model.deployment?.variants[0];
  return first ? model.versions[String(first.version)] : undefined;
}
