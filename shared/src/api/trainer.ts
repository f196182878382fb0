// The trainer's API (jobs, materialization, batch predictions, playbooks, schedules) and the
// origin's Open Inference Protocol routes, endpoint by endpoint: the trainer's route catalog. Its
// routes take the control plane's tokens with the control plane's roles, and are guarded with
// the access written here.
import { z } from "zod";
import {
  batchPredictionsResultSchema,
  batchPredictionsSchema,
  jobIdParamSchema,
  jobListSchema,
  jobViewSchema,
  materializeResultSchema,
  materializeSchema,
  playbookListSchema,
  playbookParamSchema,
  playbookSchema,
  playbookSetSchema,
  submitJobSchema,
  submittedJobSchema,
} from "../schemas/jobs.ts";
import { alertEventSchema } from "../schemas/admin/monitoring.ts";
import { versionParamSchema } from "../schemas/admin/registry.ts";
import { oipInferRequestSchema, oipInferResponseSchema, oipLiveSchema, oipModelMetadataSchema, oipModelReadySchema, oipReadySchema, oipServerMetadataSchema } from "../schemas/oip.ts";
import { catalog } from "./endpoint.ts";
import { controlPlaneApi as cp } from "./control-plane.ts";

export const trainerApi = catalog({
  submitJob: { method: "post", path: "/v1/jobs", access: "operator", summary: "Submit a training job (idempotent by its id: a repeat answers 200 with the existing job); a `command` job needs the admin role and an executable on the trainer's VERGE_COMMAND_ALLOWLIST", body: submitJobSchema, response: submittedJobSchema, status: [202, 200] },
  listJobs: { method: "get", path: "/v1/jobs", access: "viewer", summary: "List jobs, newest first", response: jobListSchema, status: 200 },
  getJob: { method: "get", path: "/v1/jobs/{id}", access: "viewer", summary: "A job's phase, progress, metrics and result version", params: jobIdParamSchema, response: jobViewSchema, status: 200 },
  cancelJob: { method: "post", path: "/v1/jobs/{id}/cancel", access: "operator", summary: "Cancel a queued or running job", params: jobIdParamSchema, response: jobViewSchema, status: 202 },
  jobEvents: { method: "get", path: "/v1/jobs/{id}/events", access: "viewer", summary: "A job's progress as server-sent events (`jobEventSchema` data; Last-Event-ID resumes)", params: jobIdParamSchema, headers: ["last-event-id"], status: 200, produces: "sse" },
  materialize: { method: "post", path: "/v1/materialize", access: "operator", summary: "Push feature views' latest rows from the offline to the online store (incremental unless `full`)", body: materializeSchema, response: materializeResultSchema, status: 200 },
  batchPredictions: { method: "post", path: "/v1/batch-predictions", access: "operator", summary: "Score known entities with a version and store the predictions for hybrid serving", body: batchPredictionsSchema, response: batchPredictionsResultSchema, status: 200 },
  putPlaybook: { method: "put", path: "/v1/playbooks/{model}", access: "operator", summary: "Set a model's response playbook (registers the trainer as an alert webhook)", params: playbookParamSchema, body: playbookSchema, response: playbookSetSchema, status: 200 },
  listPlaybooks: { method: "get", path: "/v1/playbooks", access: "viewer", summary: "Every model's playbook", response: playbookListSchema, status: 200 },
  deletePlaybook: { method: "delete", path: "/v1/playbooks/{model}", access: "operator", summary: "Remove a model's playbook", params: playbookParamSchema, status: 204, produces: "none" },
  // Schedules are kept by the control plane (every replica sees the same ones): these forward there,
  // under the control plane's own contracts, with the caller's role.
  listSchedules: cp.listSchedules,
  putSchedule: { ...cp.putSchedule, summary: "Create (201) or replace (200) a schedule in the control plane" },
  getSchedule: cp.getSchedule,
  deleteSchedule: cp.deleteSchedule,
  pauseSchedule: cp.pauseSchedule,
  resumeSchedule: cp.resumeSchedule,
  runSchedule: { ...cp.runSchedule, summary: "Run now: this trainer looks for the run at once" },
  scheduleRuns: cp.scheduleRuns,
  alertHook: { method: "post", path: "/hooks/alerts", access: "signed", summary: "Alert webhook: the control plane's signed `alert.opened` events start the playbook's retraining job", body: alertEventSchema, response: z.object({ action: z.enum(["none", "already_retraining", "retrain"]), job: z.string().optional(), created: z.boolean().optional() }), status: [200, 202] },

  serverMetadata: { method: "get", path: "/v2", access: "signed", summary: "Open Inference Protocol server metadata", response: oipServerMetadataSchema, status: 200 },
  live: { method: "get", path: "/v2/health/live", access: "public", summary: "Liveness", response: oipLiveSchema, status: 200 },
  ready: { method: "get", path: "/v2/health/ready", access: "public", summary: "Readiness: 200 once listening, 503 while starting or draining", response: oipReadySchema, status: 200 },
  versionMetadata: { method: "get", path: "/v2/models/{model}/versions/{version}", access: "signed", summary: "A version's tensor metadata (loads it)", params: versionParamSchema, response: oipModelMetadataSchema, status: 200 },
  versionReady: { method: "get", path: "/v2/models/{model}/versions/{version}/ready", access: "signed", summary: "Whether a version is loaded and ready (loads it)", params: versionParamSchema, response: oipModelReadySchema, status: 200 },
  infer: { method: "post", path: "/v2/models/{model}/versions/{version}/infer", access: "signed", summary: "Inference through the dynamic batcher (HMAC-signed by the gateway)", params: versionParamSchema, body: oipInferRequestSchema, response: oipInferResponseSchema, status: 200 },
  metrics: { method: "get", path: "/metrics", access: "signed", summary: "Prometheus metrics (signed, or Authorization: Bearer VERGE_METRICS_TOKEN)", status: 200, produces: "text" },
});
export type TrainerApi = typeof trainerApi;
