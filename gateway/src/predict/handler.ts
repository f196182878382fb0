// POST /v1/models/{model}/predict: the JSON API for one prediction or a batch of instances.
import type { Context } from "hono";
import type { Degraded, Ignored, PredictRequest, PredictResponse } from "@verge/shared";
import type { AppEnv } from "../http/app.ts";
import { caller, serveContext } from "../http/serve-context.ts";
import { requestIdentity } from "./identity.ts";
import { serve, servedHeaders } from "./serve.ts";

export async function predict(c: Context<AppEnv>, modelName: string, body: PredictRequest, bench?: { noLog?: boolean }): Promise<Response> {
  const started = Date.now();
  const identity = requestIdentity(c.get("snapshot"), c.req.raw.headers, modelName, { requestId: { value: body.request_id, field: "body.request_id" }, unit: { value: body.unit, field: "body.unit" } });
  const rows = body.instances ?? [{ features: body.features, entities: body.entities }];
  const s = await serve(serveContext(c), { identity, input: { kind: "rows", rows, entities: body.entities }, ...caller(c), started, ...(bench?.noLog ? { deferLog: true } : {}) });

  const many = body.instances !== undefined;
  const { requestId } = identity;
  const response: PredictResponse = {
    request_id: requestId,
    model: modelName,
    version: s.version,
    variant: s.variant,
    routed_by: s.routedBy === "unit" ? "unit" : "request_id",
    outputs: many ? s.prediction.outputs : s.prediction.outputs[0]!,
    ...(s.prediction.source ? { source: s.prediction.source } : {}),
    ...(s.fallback ? { fallback: s.fallback } : {}),
  };
  const degraded = s.prediction.degraded.flat();
  if (degraded.length) response.degraded = many ? dedupe(degraded) : degraded;
  const ignored = s.prediction.ignored?.flat() ?? [];
  if (ignored.length) response.ignored = many ? dedupe(ignored) : ignored;
  // The Response is made here rather than by c.json, which would copy the headers into a second
  // Headers object (no middleware before this handler sets any).
  return new Response(JSON.stringify(response), { headers: { "content-type": "application/json", ...servedHeaders(requestId, s) } });
}

function dedupe<T extends Degraded | Ignored>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((d) => {
    const key = `${d.feature}:${d.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
