// The origin's HTTP server: heavy models over the Open Inference Protocol, plus any other route
// groups on the same port (trainer/src/service.ts adds the trainer's API; main.ts is the entry).
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { InferenceSession } from "onnxruntime-node";
import { openApiDocument, referencePage } from "@verge/shared/openapi";
import { loadConfig, type Config } from "./config.ts";
import { batcher, policyFromConfig } from "./serving/batcher.ts";
import { originMetrics, type OriginMetrics } from "./serving/metrics.ts";
import { nonceMemory } from "./serving/nonces.ts";
import { modelCache } from "./serving/models.ts";
import { originApp, type OriginServices } from "./serving/routes.ts";

export interface OriginOptions {
  /** Other route groups served on the same port (the trainer's jobs API, for one). */
  extraRoutes?: { path: string; app: Hono }[];
  /** How the registry is reached; a fake in tests and benchmarks. */
  fetcher?: typeof fetch;
  /** Applied to every model session (e.g. `intraOpNumThreads`). */
  sessionOptions?: InferenceSession.SessionOptions;
}

/** The origin's app and the services behind it, not yet listening (readiness is `starting`). */
export function buildOrigin(config: Config, options: OriginOptions = {}) {
  let metrics: OriginMetrics | undefined;
  const models = modelCache(config, options.fetcher, options.sessionOptions, (model, version) => metrics?.evicted(model, version));
  let batches: ReturnType<typeof batcher> | undefined;
  metrics = originMetrics(() => models.loaded(), () => batches?.waiting() ?? new Map(), () => models.bytes());
  batches = batcher(policyFromConfig(config), metrics.batchHooks, config.VERGE_MAX_QUEUED_REQUESTS);
  const services: OriginServices = { models, metrics, batches, readiness: { state: "starting" }, nonces: nonceMemory(config.VERGE_ORIGIN_NONCE_CAPACITY) };
  const app = originApp(config, services);
  for (const extra of options.extraRoutes ?? []) app.route(extra.path, extra.app);
  let doc: ReturnType<typeof openApiDocument> | undefined;
  const document = () => (doc ??= openApiDocument(app, { title: "Verge trainer and origin", description: "Training jobs, materialization, batch predictions, playbooks and schedules (control-plane tokens with their roles); the Open Inference Protocol for heavy models (signed)." }));
  app.get("/openapi.json", async (c) => c.json(await document()));
  app.get("/docs", async (c) => c.html(referencePage(await document())));
  return { app, services };
}

export function startOrigin(config = loadConfig(), options: OriginOptions = {}) {
  const { app, services } = buildOrigin(config, options);
  return new Promise<{ port: number; services: OriginServices; close: () => Promise<void> }>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
      services.readiness.state = "ready";
      resolve({
        port: info.port,
        services,
        close: () => {
          services.readiness.state = "draining";
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
    // A port already taken rejects instead of leaving the caller waiting forever.
    server.once("error", reject);
  });
}
