// The origin's Open Inference Protocol v2 routes for heavy models: health and readiness, model
// metadata, and infer through the dynamic batcher. Every route but the two health checks must
// carry the gateway's signature (guard.ts); `/metrics` also takes VERGE_METRICS_TOKEN.
import { Hono } from "hono";
import { every, except } from "hono/combine";
import type * as ort from "onnxruntime-node";
import { ApiError, DEADLINE_HEADER, nameSchema, oipInferRequestSchema, versionNumberSchema, type OipInferResponse } from "@verge/shared";
import { notFound, onError, parseJson, validate } from "@verge/shared/http";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { describe } from "@verge/shared/openapi";
import { z } from "zod";
import type { Config } from "../config.ts";
import type { batcher } from "./batcher.ts";
import type { OriginMetrics } from "./metrics.ts";
import { limitBody } from "../http/body.ts";
import { requireSignature, type SignedEnv } from "./guard.ts";
import type { Lease, ModelCache } from "./models.ts";
import type { NonceMemory } from "./nonces.ts";
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
  nonces: NonceMemory;
}

type Env = { Variables: SignedEnv["Variables"] & { served?: { model: string; version: string } } };

const params = z.object({ model: nameSchema, version: versionNumberSchema });

/** The only origin routes answered without the gateway's signature: liveness and readiness probes. */
export const OPEN = new Set(["/v2/health/live", "/v2/health/ready"]);

/** What this origin implements of the Open Inference Protocol: its core only (no optional extensions). */
export const SERVER_METADATA = { name: "verge-origin", version: "1", extensions: [] as string[] };

export function originApp(config: Config, services: OriginServices) {
  const { models, batches, metrics, readiness, nonces } = services;
  const signed = requireSignature(config, nonces);

  /** The version's session, held until `release` (an evicted session is freed once unused). */
  async function load(model: string, version: number): Promise<Lease> {
    if (readiness.state === "draining") throw new ApiError("unavailable", "the origin is draining");
    let loaded: Lease;
    try {
      loaded = await models.acquire(model, version);
    } catch (err) {
      throw err instanceof ApiError ? err : new ApiError("unavailable", `${model} v${version} failed to load: ${(err as Error).message}`);
    }
    metrics.modelLoaded(model, version, loaded.provider);
    return loaded;
  }

  return new Hono<Env>()
    // Health alone is open (load balancers probe it); everything else needs the gateway's signature.
    // "/v2/*" matches "/v2" itself too.
    .use("/v2/*", except([...OPEN], every(limitBody(config.VERGE_ORIGIN_MAX_BODY_BYTES), signed)))
    .use("/metrics", limitBody(config.VERGE_ORIGIN_MAX_BODY_BYTES), requireSignature(config, nonces, { bearer: true }))
    .get("/v2", describe(api.serverMetadata), (c) => c.json(SERVER_METADATA))
    .get("/v2/health/live", describe(api.live), (c) => c.json({ live: true }))
    .get("/v2/health/ready", describe(api.ready), (c) => {
      if (readiness.state !== "ready") throw new ApiError("unavailable", `the origin is ${readiness.state}`);
      return c.json({ ready: true });
    })
    .get("/metrics", describe(api.metrics), async () => new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } }))
    .get("/v2/models/:model/versions/:version/ready", describe(api.versionReady), validate("param", params), async (c) => {
      const { model, version } = c.req.valid("param");
      (await load(model, version)).release();
      return c.json({ name: model, ready: true });
    })
    .get("/v2/models/:model/versions/:version", describe(api.versionMetadata), validate("param", params), async (c) => {
      const { model, version } = c.req.valid("param");
      const lease = await load(model, version);
      const { session } = lease;
      lease.release();
      return c.json({ name: model, versions: [String(version)], platform: "onnxruntime", inputs: session.inputMetadata.map(tensorMetadata), outputs: session.outputMetadata.map(tensorMetadata) });
    })
    .use("/v2/models/:model/versions/:version/infer", async (c, next) => {
      // Counted once the signature holds (the guard runs first), so unsigned callers cannot mint metric series.
      const started = performance.now();
      const done = metrics.started();
      try {
        await next();
      } finally {
        done();
      }
      const served = c.get("served");
      metrics.request(served?.model ?? "unknown", served?.version ?? "unknown", c.res.status, (performance.now() - started) / 1000);
    })
    .post("/v2/models/:model/versions/:version/infer", describe(api.infer), validate("param", params), async (c) => {
      const arrived = performance.now();
      const body = c.get("body");
      const { model, version } = c.req.valid("param");
      c.set("served", { model, version: String(version) });
      const deadline = deadlineOf(c.req.header(DEADLINE_HEADER), arrived);
      const request = parseJson(oipInferRequestSchema, new TextDecoder().decode(body));
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of request.inputs) feeds[t.name] = toOrtTensor(t);
      const loaded = await load(model, version);
      let result: Record<string, ort.Tensor>;
      try {
        result = await batches.infer({ model, version, session: loaded.session }, feeds, { deadline, signal: c.req.raw.signal });
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw new ApiError("bad_request", `inputs: the model refused them (${(err as Error).message})`);
      } finally {
        loaded.release();
      }
      const response: OipInferResponse = {
        model_name: model,
        model_version: String(version),
        ...(request.id ? { id: request.id } : {}),
        parameters: { execution_provider: loaded.provider },
        outputs: loaded.session.outputNames.map((name) => toOipOutput(name, result[name]!)),
      };
      return c.json(response);
    })
    .notFound(notFound)
    .onError(onError);
}

/** The gateway's deadline (milliseconds it waits from sending) as a `performance.now()` time; a malformed one is refused. */
function deadlineOf(header: string | undefined, arrived: number): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d{1,9}$/.test(header)) throw new ApiError("bad_request", `${DEADLINE_HEADER}: must be a whole number of milliseconds`);
  return arrived + Number(header);
}

/** OIP tensor metadata; symbolic dimensions (the batch) are -1. */
function tensorMetadata(meta: ort.InferenceSession.ValueMetadata) {
  return meta.isTensor
    ? { name: meta.name, datatype: oipDatatype(meta.type), shape: meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1)) }
    : { name: meta.name, datatype: "BYTES", shape: [] as number[] };
}
