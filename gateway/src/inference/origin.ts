// The origin runtime: `origin` versions run on the GPU origin's Open Inference Protocol endpoint,
// signed, under a deadline, retried once on connection errors only, behind a circuit breaker.
import { ApiError, oipInferResponseSchema, signRequest, type SnapshotVersion } from "@verge/shared";
import { breakerFor } from "./breaker.ts";
import type { ModelRuntime, Outputs } from "./runtime.ts";

export interface OriginOptions {
  url: string;
  secret: string;
  deadlineMs: number;
  coolDownMs?: number;
  model: string;
}

export function originRuntime(o: OriginOptions): ModelRuntime {
  const breaker = breakerFor(o.url, o.coolDownMs === undefined ? {} : { coolDownMs: o.coolDownMs });
  return {
    async run(version: SnapshotVersion, input: Float32Array, rows: number): Promise<Outputs> {
      if (!breaker.allow()) throw new ApiError("unavailable", "origin: circuit open after repeated failures", { reason: "circuit_open" });
      const width = rows ? input.length / rows : 0;
      const path = `/v2/models/${o.model}/versions/${version.version}/infer`;
      const body = JSON.stringify({ inputs: [{ name: version.feature_spec.input, shape: [rows, width], datatype: "FP32", data: Array.from(input) }] });
      const started = Date.now();
      const attempt = async () => {
        const headers = { "content-type": "application/json", ...(await signRequest(o.secret, "POST", path, body)) };
        const remaining = Math.max(1, o.deadlineMs - (Date.now() - started));
        return fetch(`${o.url}${path}`, { method: "POST", headers, body, signal: AbortSignal.timeout(remaining) });
      };
      let res: Response;
      try {
        // One retry, on connection errors only: a timeout or an HTTP error is not retried.
        res = await attempt().catch((err: Error) => (err.name === "TimeoutError" || err.name === "AbortError" ? Promise.reject(err) : attempt()));
      } catch (err) {
        breaker.failure();
        const timedOut = (err as Error).name === "TimeoutError" || (err as Error).name === "AbortError";
        throw new ApiError("unavailable", timedOut ? `origin: no answer within ${o.deadlineMs} ms` : `origin: unreachable (${(err as Error).message})`, { reason: timedOut ? "timeout" : "origin_unreachable" });
      }
      if (res.status >= 500) {
        breaker.failure();
        throw new ApiError("unavailable", `origin: answered ${res.status}`, { reason: "origin_error" });
      }
      breaker.success();
      if (!res.ok) throw new ApiError("unavailable", `origin refused the request: ${res.status} ${(await res.text()).slice(0, 200)}`, { reason: "origin_error" });
      const parsed = oipInferResponseSchema.safeParse(await res.json().catch(() => undefined));
      if (!parsed.success) throw new ApiError("unavailable", `origin: its answer breaks the protocol at ${parsed.error.issues[0]?.path.join(".") || "(root)"}`, { reason: "origin_error" });
      const outputs: Outputs = {};
      for (const out of parsed.data.outputs) {
        // The protocol allows nested data; a tensor's values are its row-major flattening.
        const data = Float32Array.from((out.data as unknown[]).flat(Infinity as 1) as number[]);
        outputs[out.name] = { data, width: rows ? data.length / rows : 0 };
      }
      return outputs;
    },
  };
}
