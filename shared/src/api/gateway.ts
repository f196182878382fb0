// The gateway's public API (predict, rank, feedback) and its Open Inference Protocol routes.
import { z } from "zod";
import { nameSchema, versionNumberSchema } from "../schemas/common.ts";
import { feedbackRequestSchema } from "../schemas/feedback.ts";
import { oipInferRequestSchema, oipInferResponseSchema, oipLiveSchema, oipModelMetadataSchema, oipModelReadySchema, oipReadySchema, oipServerMetadataSchema } from "../schemas/oip.ts";
import { predictRequestSchema, predictResponseSchema, rankRequestSchema } from "../schemas/predict.ts";
import { catalog } from "./endpoint.ts";

const model = z.object({ model: nameSchema });
const version = model.extend({ version: versionNumberSchema });

export const rankResponseSchema = z.object({
  request_id: z.string(),
  model: z.string(),
  /** The variant that ranked for each team: the deployment's edge fallback when the team's own could not serve. */
  variants: z.array(z.object({ name: z.string(), version: z.number().int(), fallback: z.object({ from: z.string(), reason: z.string() }).optional() })),
  ranking: z.array(z.object({ position: z.number().int(), id: z.string(), variant: z.string(), version: z.number().int(), score: z.number() })),
});

export const gatewayApi = catalog({
  predict: { method: "post", path: "/v1/models/{model}/predict", access: "client", summary: "Predict: routed by unit (sticky A/B), features built, logged", params: model, body: predictRequestSchema, headers: ["x-verge-unit", "x-request-id"], response: predictResponseSchema, status: 200 },
  rank: { method: "post", path: "/v1/models/{model}/rank", access: "client", summary: "Rank candidates, interleaving the deployment's first two variants (team draft)", params: model, body: rankRequestSchema, response: rankResponseSchema, status: 200 },
  feedback: { method: "post", path: "/v1/feedback", access: "client", summary: "Labels for earlier predictions of models the key may call, joined by (model, request id and position); the first label of a prediction stands", body: feedbackRequestSchema, response: z.object({ accepted: z.number().int() }), status: 202 },

  serverMetadata: { method: "get", path: "/v2", access: "public", summary: "Open Inference Protocol server metadata", response: oipServerMetadataSchema, status: 200 },
  live: { method: "get", path: "/v2/health/live", access: "public", summary: "Liveness", response: oipLiveSchema, status: 200 },
  ready: { method: "get", path: "/v2/health/ready", access: "public", summary: "Readiness", response: oipReadySchema, status: 200 },
  modelMetadata: { method: "get", path: "/v2/models/{model}", access: "client", summary: "The model's metadata: its primary variant's tensors and its versions", params: model, response: oipModelMetadataSchema, status: 200 },
  modelReady: { method: "get", path: "/v2/models/{model}/ready", access: "client", summary: "Whether the model has a deployment to serve", params: model, response: oipModelReadySchema, status: 200 },
  versionMetadata: { method: "get", path: "/v2/models/{model}/versions/{version}", access: "client", summary: "A version's metadata", params: version, response: oipModelMetadataSchema, status: 200 },
  versionReady: { method: "get", path: "/v2/models/{model}/versions/{version}/ready", access: "client", summary: "Whether a version can serve", params: version, response: oipModelReadySchema, status: 200 },
  infer: { method: "post", path: "/v2/models/{model}/infer", access: "client", summary: "Inference, A/B routed by `parameters.unit` or x-verge-unit", params: model, body: oipInferRequestSchema, headers: ["x-verge-unit"], response: oipInferResponseSchema, status: 200 },
  versionInfer: { method: "post", path: "/v2/models/{model}/versions/{version}/infer", access: "client", summary: "Inference on a pinned version (bypasses routing)", params: version, body: oipInferRequestSchema, response: oipInferResponseSchema, status: 200 },
});
export type GatewayApi = typeof gatewayApi;
