// The origin's Prometheus metrics, on a registry of its own (not prom-client's global one), so
// several origins can live in one process and each `/metrics` speaks only for its node.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BatcherHooks } from "./batcher.ts";

export type OriginMetrics = ReturnType<typeof originMetrics>;

/**
 * Metrics for one origin node. `loadedModels` and `waiting` (the batch queues) are read at scrape
 * time. What an autoscaler reads (README: "Running N origin nodes"): in-flight requests and queue
 * depth per node, batch fill, and per-model latency histograms.
 *
 * @example
 * const metrics = originMetrics(() => models.loaded(), () => batches.waiting());
 * app.get("/metrics", async () => new Response(await metrics.registry.metrics(), { headers: { "content-type": metrics.registry.contentType } }));
 */
export function originMetrics(loadedModels: () => number, waiting: () => ReadonlyMap<string, { requests: number; rows: number }> = () => new Map(), modelBytes: () => number = () => 0) {
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
  new Gauge({
    name: "verge_origin_model_bytes",
    help: "Artifact bytes of the model versions with a session on this node: what VERGE_MODEL_MEMORY_MB bounds.",
    registers,
    collect() {
      this.set(modelBytes());
    },
  });
  const evictions = new Counter({ name: "verge_origin_model_evictions_total", help: "Sessions evicted to stay inside the model memory budget.", registers });
  const dropped = new Counter({
    name: "verge_origin_dropped_requests_total",
    help: "Infer requests not run: queue_full (refused with 503 past VERGE_MAX_QUEUED_REQUESTS), deadline (the gateway's deadline passed while queued), disconnected (the caller left).",
    labelNames: ["model", "reason"] as const,
    registers,
  });
  const inFlight = new Gauge({ name: "verge_origin_in_flight_requests", help: "Infer requests being handled by this node now (queued, running or answering).", registers });
  new Gauge({
    name: "verge_origin_queue_depth",
    help: "Infer requests waiting for a batch, per model.",
    labelNames: ["model"] as const,
    registers,
    collect() {
      this.reset();
      for (const [model, w] of waiting()) this.set({ model }, w.requests);
    },
  });
  new Gauge({
    name: "verge_origin_queue_rows",
    help: "Rows waiting for a batch, per model.",
    labelNames: ["model"] as const,
    registers,
    collect() {
      this.reset();
      for (const [model, w] of waiting()) this.set({ model }, w.rows);
    },
  });
  const batchFill = new Histogram({
    name: "verge_origin_batch_fill_ratio",
    help: "Rows per session run over the model's max batch size: near 1, the node is saturated.",
    labelNames: ["model", "version"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1],
    registers,
  });
  const provider = new Gauge({ name: "verge_origin_execution_provider_info", help: "1 for the execution provider each loaded model version runs on.", labelNames: ["model", "version", "provider"] as const, registers });

  const batchHooks: BatcherHooks = {
    onRun: (t, rows, n, max) => {
      batchRows.observe({ model: t.model, version: t.version }, rows);
      batchFill.observe({ model: t.model, version: t.version }, Math.min(1, rows / max));
      batchRequests.observe({ model: t.model, version: t.version }, n);
    },
    onQueued: (t, waitedMs) => queueDelay.observe({ model: t.model, version: t.version }, waitedMs / 1000),
    onDropped: (t, reason) => dropped.inc({ model: t.model, reason }),
  };

  return {
    registry,
    batchHooks,
    /** An infer request arrived; call `done` once it is answered. */
    started(): () => void {
      inFlight.inc();
      return () => inFlight.dec();
    },
    /** One finished infer request. */
    request(model: string, version: string, status: number, seconds: number) {
      requests.inc({ model, version, status });
      latency.observe({ model, version }, seconds);
    },
    evicted(model: string, version: number) {
      evictions.inc();
      provider.remove({ model, version, provider: "cpu" });
      provider.remove({ model, version, provider: "cuda" });
    },
    modelLoaded(model: string, version: number, executionProvider: string) {
      provider.set({ model, version, provider: executionProvider }, 1);
    },
  };
}
