// The origin's Prometheus metrics, on a registry of its own (not prom-client's global one), so
// several origins can live in one process and each `/metrics` speaks only for its node.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BatcherHooks } from "./batcher.ts";

export type OriginMetrics = ReturnType<typeof originMetrics>;

/**
 * Metrics for one origin node. `loadedModels` is read at scrape time.
 *
 * @example
 * const metrics = originMetrics(() => models.loaded());
 * app.get("/metrics", async () => new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } }));
 */
export function originMetrics(loadedModels: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const requests = new Counter({ name: "verge_origin_requests_total", help: "Infer requests by model, version and HTTP status.", labelNames: ["model", "version", "status"] as const, registers });
  const latency = new Histogram({
    name: "verge_origin_request_duration_seconds",
    help: "Infer request latency, from arrival to response.",
    labelNames: ["model", "version"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const batchRows = new Histogram({ name: "verge_origin_batch_rows", help: "Rows per session run (its count is the number of runs).", labelNames: ["model", "version"] as const, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096], registers });
  const batchRequests = new Histogram({ name: "verge_origin_batch_requests", help: "Requests merged into each session run.", labelNames: ["model", "version"] as const, buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers });
  const queueDelay = new Histogram({
    name: "verge_origin_queue_delay_seconds",
    help: "Time an infer request waited for its batch.",
    labelNames: ["model", "version"] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers,
  });
  new Gauge({
    name: "verge_origin_models_loaded",
    help: "Model versions with a session on this node (loading included).",
    registers,
    collect() {
      this.set(loadedModels());
    },
  });
  const provider = new Gauge({ name: "verge_origin_execution_provider_info", help: "1 for the execution provider each loaded model version runs on.", labelNames: ["model", "version", "provider"] as const, registers });

  const batchHooks: BatcherHooks = {
    onRun: (t, rows, n) => {
      batchRows.observe({ model: t.model, version: t.version }, rows);
      batchRequests.observe({ model: t.model, version: t.version }, n);
    },
    onQueued: (t, waitedMs) => queueDelay.observe({ model: t.model, version: t.version }, waitedMs / 1000),
  };

  return {
    registry,
    batchHooks,
    /** One finished infer request. */
    request(model: string, version: string, status: number, seconds: number) {
      requests.inc({ model, version, status });
      latency.observe({ model, version }, seconds);
    },
    modelLoaded(model: string, version: number, executionProvider: string) {
      provider.set({ model, version, provider: executionProvider }, 1);
    },
  };
}
