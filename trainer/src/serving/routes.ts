// The origin's Open Inference Protocol v2 routes for heavy models: health and readiness, model
// metadata, and infer through the dynamic batcher. Every infer call must carry a gateway
// signature (HMAC-SHA256, replay window).
import { Hono } from "hono";
import type * as ort from "onnxruntime-node";
import { ApiError, nameSchema, oipInferRequestSchema, validationError, verifyRequest, versionNumberSchema, type OipInferResponse } from "@verge/shared";
import { notFound, onError, validate } from "@verge/shared/http";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { describe } from "@verge/shared/openapi";
import { z } from "zod";
import type { Config } from "../config.ts";
import type { batcher } from "./batcher.ts";
import type { OriginMetrics } from "./metrics.ts";
import type { LoadedModel, ModelCache } from "./models.ts";
import { oipDatatype, toOipOutput, toOrtTensor } from "./tensors.ts";

/** `starting` until the node listens, `draining` once it is closing: ready only in between. */
export interface Readiness {
  state: "starting" | "ready" | "draining";
}

export interface OriginServices {
  models: ModelCache;
  batches: ReturnType<typeof batcher>;
  metrics: OriginMetrics;
  readiness: Readiness;
}

type Env = { Variables: { served?: { model: string; version: string } } };

const params = z.object({ model: nameSchema, version: versionNumberSchema });

/** What this origin implements of the Open Inference Protocol: its core only (no optional extensions). */
export const SERVER_METADATA = { name: "verge-origin", version: "1", extensions: [] as string[] };

export function originApp(config: Config, services: OriginServices) {
  const { models, batches, metrics, readiness } = services;

  async function load(model: string, version: number): Promise<LoadedModel> {
    if (readiness.state === "draining") throw new ApiError("unavailable", "the origin is draining");
    let loaded: LoadedModel;
    try {
      loaded = await models.get(model, version);
    } catch (err) {
      throw err instanceof ApiError ? err : new ApiError("unavailable", `${model} v${version} failed to load: ${(err as Error).message}`);
    }
    metrics.modelLoaded(model, version, loaded.provider);
    return loaded;
  }

  return new Hono<Env>()
    .get("/v2", describe(api.serverMetadata), (c) => c.json(SERVER_METADATA))
    .get("/v2/health/live", describe(api.live), (c) => c.json({ live: true }))
    .get("/v2/health/ready", describe(api.ready), (c) => {
      if (readiness.state !== "ready") throw new ApiError("unavailable", `the origin is ${readiness.state}`);
      return c.json({ ready: true });
    })
    .get("/metrics", describe(api.metrics), async () => new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } }))
    .get("/v2/models/:model/versions/:version/ready", describe(api.versionReady), validate("param", params), async (c) => {
      const { model, version } = c.req.valid("param");
      await load(model, version);
      return c.json({ name: model, ready: true });
    })
    .get("/v2/models/:model/versions/:version", describe(api.versionMetadata), validate("param", params), async (c) => {
      const { model, version } = c.req.valid("param");
      const { session } = await load(model, version);
      return c.json({ name: model, versions: [String(version)], platform: "onnxruntime", inputs: session.inputMetadata.map(tensorMetadata), outputs: session.outputMetadata.map(tensorMetadata) });
    })
    .use("/v2/models/:model/versions/:version/infer", async (c, next) => {
      const started = performance.now();
      await next();
      const served = c.get("served");
      metrics.request(served?.model ?? "unknown", served?.version ?? "unknown", c.res.status, (performance.now() - started) / 1000);
    })
    .post("/v2/models/:model/versions/:version/infer", describe(api.infer), validate("param", params), async (c) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      const verdict = await verifyRequest(config.VERGE_ORIGIN_SECRET, {
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        timestamp: c.req.header("x-verge-timestamp"),
        signature: c.req.header("x-verge-signature"),
        body,
      });
      if (!verdict.ok) throw new ApiError("unauthorized", `signature: ${verdict.reason}`);
      const { model, version } = c.req.valid("param");
      // Labelled by model only once signed, so unsigned callers cannot mint metric series.
      c.set("served", { model, version: String(version) });
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(body));
      } catch {
        throw new ApiError("bad_request", "body: malformed JSON");
      }
      const parsed = oipInferRequestSchema.safeParse(json);
      if (!parsed.success) throw validationError(parsed.error, "body");
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of parsed.data.inputs) feeds[t.name] = toOrtTensor(t);
      const loaded = await load(model, version);
      let result: Record<string, ort.Tensor>;
      try {
        result = await batches.infer({ model, version, session: loaded.session }, feeds);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw new ApiError("bad_request", `inputs: the model refused them (${(err as Error).message})`);
      }
      const response: OipInferResponse = {
        model_name: model,
        model_version: String(version),
        ...(parsed.data.id ? { id: parsed.data.id } : {}),
        parameters: { execution_provider: loaded.provider },
        outputs: loaded.session.outputNames.map((name) => toOipOutput(name, result[name]!)),
      };
      return c.json(response);
    })
    .notFound(notFound)
    .onError(onError);
}

/** OIP tensor metadata; symbolic dimensions (the batch) are -1. */
function tensorMetadata(meta: ort.InferenceSession.ValueMetadata) {
  return meta.isTensor
    ? { name: meta.name, datatype: oipDatatype(meta.type), shape: meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1)) }
    : { name: meta.name, datatype: "BYTES", shape: [] as number[] };
}
