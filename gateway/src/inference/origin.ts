// The origin runtime: an `origin` version runs on a node of its pool, chosen by the pool's
// balancer, under the pool's deadline. Inference is idempotent, so a call that never ran (the
// node refused the connection, reset it, or said it is not ready) is retried once on another
// node within what is left of the deadline; a timeout is not, as the deadline is spent, nor is
// any other answer (4xx, 5xx), as the node may have run it.
import { ApiError, type SnapshotVersion } from "@verge/shared";
import { buildInferRequest, inferOnNode, inferPath, OriginCallError } from "./oip-client.ts";
import type { PoolNode } from "./pool.ts";
import type { ResolvedPool } from "./pools.ts";
import type { ModelRuntime, Outputs } from "./runtime.ts";

export interface OriginRuntimeOptions {
  pool: ResolvedPool;
  /** Verge's model name (the pool may know it by another). */
  model: string;
  /** Sent as the protocol's request `id`, so the node's logs line up with the gateway's. */
  requestId?: string;
}

export function originRuntime(o: OriginRuntimeOptions): ModelRuntime {
  const { pool } = o;
  return {
    async run(version: SnapshotVersion, input: Float32Array, rows: number): Promise<Outputs> {
      const started = Date.now();
      const id = o.requestId ?? crypto.randomUUID();
      const path = inferPath(pool.modelNames[o.model] ?? o.model, pool.versions === "verge" ? String(version.version) : undefined);
      const body = JSON.stringify(buildInferRequest(version, input, rows, id));
      const tried = new Set<PoolNode>();
      let lastError: OriginCallError | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const remaining = pool.deadlineMs - (Date.now() - started);
        if (remaining <= 0) break;
        // A pool of one retries a lost connection on the same node (one dropped while idle is worth
        // a second try), but not a node that said it is not ready.
        const node = pool.nodes.pick(tried) ?? (lastError?.retry === "anywhere" && pool.nodes.nodes.length === 1 ? pool.nodes.pick() : undefined);
        if (!node) break;
        tried.add(node);
        try {
          const outputs = await pool.nodes.track(node, () => inferOnNode({ url: node.url, auth: pool.auth }, path, body, rows, id, { timeoutMs: remaining, deadlineMs: pool.deadlineMs }));
          node.breaker.success();
          return outputs;
        } catch (err) {
          if (!(err instanceof OriginCallError)) {
            // The node answered, but not with something Verge can read: its circuit stays as it was.
            node.breaker.success();
            throw err;
          }
          if (err.nodeFault) node.breaker.failure();
          else node.breaker.success();
          lastError = err;
          if (err.retry === "no") break;
        }
      }
      // Each failure names its class (`details.reason`), which the prediction log records.
      if (lastError) throw new ApiError("unavailable", lastError.message, { reason: lastError.reason });
      if (tried.size === 0) throw new ApiError("unavailable", `origin: circuit open after repeated failures on every node of pool "${pool.name}"`, { reason: "circuit_open" });
      throw new ApiError("unavailable", `origin: no answer within ${pool.deadlineMs} ms`, { reason: "timeout" });
    },
  };
}
