// The origin's Open Inference Protocol v2 routes for heavy models. Every infer call must carry
// a gateway signature (HMAC-SHA256, replay window).
import { Hono } from "hono";
import * as ort from "onnxruntime-node";
import { ApiError, flattenTensor, nameSchema, oipInferRequestSchema, validationError, verifyRequest, versionNumberSchema, type OipInferResponse, type OipTensor } from "@verge/shared";
import { onError, validate } from "@verge/shared/http";
import { z } from "zod";
import type { Config } from "../config.ts";
import type { modelCache } from "./models.ts";

const TYPED: Partial<Record<OipTensor["datatype"], (v: (number | boolean | string)[]) => ort.Tensor["data"]>> = {
  FP32: (v) => Float32Array.from(v as number[]),
  FP64: (v) => Float64Array.from(v as number[]),
  INT32: (v) => Int32Array.from(v as number[]),
  INT64: (v) => BigInt64Array.from((v as number[]).map(BigInt)),
  BOOL: (v) => Uint8Array.from(v as boolean[], (b) => (b ? 1 : 0)),
};
const ORT_TYPE = { FP32: "float32", FP64: "float64", INT32: "int32", INT64: "int64", BOOL: "bool" } as const;
const DATATYPE: Record<string, string> = Object.fromEntries(Object.entries(ORT_TYPE).map(([oip, t]) => [t, oip]));

export function originApp(config: Config, models: ReturnType<typeof modelCache>) {
  const params = z.object({ model: nameSchema, version: versionNumberSchema });
  return new Hono()
    .get("/v2/health/live", (c) => c.json({ live: true }))
    .get("/v2/health/ready", (c) => c.json({ ready: true }))
    .post("/v2/models/:model/versions/:version/infer", validate("param", params), async (c) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      const verdict = await verifyRequest(config.VERGE_ORIGIN_SECRET, {
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        timestamp: c.req.header("x-verge-timestamp"),
        signature: c.req.header("x-verge-signature"),
        body,
      });
      if (!verdict.ok) throw new ApiError("unauthorized", `signature: ${verdict.reason}`);
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(body));
      } catch {
        throw new ApiError("bad_request", "body: malformed JSON");
      }
      const parsed = oipInferRequestSchema.safeParse(json);
      if (!parsed.success) throw validationError(parsed.error, "body");
      const { model, version } = c.req.valid("param");
      const loaded = await models.get(model, version);
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of parsed.data.inputs) {
        const convert = TYPED[t.datatype];
        if (!convert) throw new ApiError("bad_request", `inputs.${t.name}.datatype: ${t.datatype} is not supported by this origin`);
        if (!loaded.session.inputNames.includes(t.name)) throw new ApiError("bad_request", `inputs.${t.name}: the model has no such input (it takes ${loaded.session.inputNames.join(", ")})`);
        feeds[t.name] = new ort.Tensor(ORT_TYPE[t.datatype as keyof typeof ORT_TYPE], convert(flattenTensor(t)) as Float32Array, t.shape);
      }
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await loaded.session.run(feeds);
      } catch (err) {
        throw new ApiError("bad_request", `inputs: the model refused them (${(err as Error).message})`);
      }
      const response: OipInferResponse = {
        model_name: model,
        model_version: String(version),
        ...(parsed.data.id ? { id: parsed.data.id } : {}),
        parameters: { execution_provider: loaded.provider },
        outputs: loaded.session.outputNames.map((name) => {
          const t = result[name] as ort.Tensor;
          return { name, shape: [...t.dims], datatype: DATATYPE[t.type] ?? "FP32", data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
        }),
      };
      return c.json(response);
    })
    .notFound((c) => new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`).toResponse())
    .onError(onError);
}
