// The control plane's admin API, endpoint by endpoint: the one description that the worker
// guards and documents its routes with, and that the client, the CLI and the dashboard call.
import { z } from "zod";
import { driftThresholdsSchema } from "../drift.ts";
import { promotionRuleSchema } from "../promotion.ts";
import { createModelSchema, putAliasSchema, putDeploymentSchema, versionMetadataSchema } from "../schemas/registry.ts";
import { snapshotSchema } from "../schemas/snapshot.ts";
import { auditPageSchema, auditQuerySchema, createdKeySchema, createdTokenSchema, createKeySchema, createTokenSchema, idParamSchema, keyListSchema, tokenListSchema, whoamiSchema } from "../schemas/admin/access.ts";
import {
  alertAckSchema,
  alertIdParamSchema,
  alertListSchema,
  alertQuerySchema,
  createdWebhookSchema,
  createWebhookSchema,
  driftQuerySchema,
  driftReportSchema,
  driftThresholdsViewSchema,
  experimentQuerySchema,
  experimentReportSchema,
  metricsQuerySchema,
  metricsReportSchema,
  webhookDeliveriesSchema,
  webhookListSchema,
} from "../schemas/admin/monitoring.ts";
import {
  aliasHistorySchema,
  aliasListSchema,
  aliasMovedSchema,
  aliasParamSchema,
  deploymentViewSchema,
  modelListSchema,
  modelParamSchema,
  modelSchema,
  promoteResultSchema,
  promoteSchema,
  promotionRuleViewSchema,
  rollbackResultSchema,
  rollbackSchema,
  rolloutEvaluationSchema,
  rolloutListSchema,
  uploadedVersionSchema,
  versionListSchema,
  versionParamSchema,
  versionViewSchema,
} from "../schemas/admin/registry.ts";
import {
  claimRunSchema,
  putScheduleSchema,
  reportRunSchema,
  runsQuerySchema,
  scheduleListSchema,
  scheduleParamSchema,
  scheduleRunListSchema,
  scheduleRunParamSchema,
  scheduleRunViewSchema,
  scheduleViewSchema,
  scheduleWorkSchema,
} from "../schemas/schedules.ts";
import {
  deadLetterIdParamSchema,
  deadLettersQuerySchema,
  deadLettersResponseSchema,
  deadLetterWithBodiesSchema,
  logSettingsSchema,
  logSettingsViewSchema,
  logsQuerySchema,
  monitoringMigrationResultSchema,
  monitoringMigrationSchema,
  redriveResponseSchema,
} from "../schemas/logging.ts";
import { catalog } from "./endpoint.ts";

const model = modelParamSchema;

export const controlPlaneApi = catalog({
  whoami: { method: "get", path: "/v1/whoami", access: "viewer", summary: "The caller's identity and role", response: whoamiSchema, status: 200 },

  createModel: { method: "post", path: "/v1/models", access: "operator", summary: "Create a model", body: createModelSchema, response: modelSchema, status: 201 },
  listModels: { method: "get", path: "/v1/models", access: "viewer", summary: "List models", response: modelListSchema, status: 200 },
  getModel: { method: "get", path: "/v1/models/{model}", access: "viewer", summary: "Read a model", params: model, response: modelSchema, status: 200 },

  uploadVersion: { method: "post", path: "/v1/models/{model}/versions", access: "operator", summary: "Upload a version: multipart `artifact` (ONNX) and `metadata` (JSON)", params: model, body: versionMetadataSchema, multipart: true, response: uploadedVersionSchema, status: 201 },
  listVersions: { method: "get", path: "/v1/models/{model}/versions", access: "viewer", summary: "List versions, newest first", params: model, response: versionListSchema, status: 200 },
  getVersion: { method: "get", path: "/v1/models/{model}/versions/{version}", access: "viewer", summary: "Read a version with its lineage", params: versionParamSchema, response: versionViewSchema, status: 200 },
  getArtifact: { method: "get", path: "/v1/models/{model}/versions/{version}/artifact", access: "viewer", summary: "Download a version's ONNX artifact (x-verge-sha256 header)", params: versionParamSchema, status: 200, produces: "binary" },

  setAlias: { method: "put", path: "/v1/models/{model}/aliases/{alias}", access: "operator", summary: "Point an alias at a version (If-Match: the version it points to now)", params: aliasParamSchema, body: putAliasSchema, headers: ["if-match"], response: aliasMovedSchema, status: 200 },
  listAliases: { method: "get", path: "/v1/models/{model}/aliases", access: "viewer", summary: "List aliases", params: model, response: aliasListSchema, status: 200 },
  aliasHistory: { method: "get", path: "/v1/models/{model}/aliases/{alias}/history", access: "viewer", summary: "Every move of an alias: who, when, from, to, why", params: aliasParamSchema, response: aliasHistorySchema, status: 200 },

  putDeployment: { method: "put", path: "/v1/models/{model}/deployment", access: "operator", summary: "Set weighted variants, shadows and fallback (If-Match: revision)", params: model, body: putDeploymentSchema, headers: ["if-match"], response: deploymentViewSchema, status: 200 },
  getDeployment: { method: "get", path: "/v1/models/{model}/deployment", access: "viewer", summary: "Read the deployment and its bucket allocation", params: model, response: deploymentViewSchema, status: 200 },

  promote: { method: "post", path: "/v1/models/{model}/promote", access: "operator", summary: "Promote a version to an alias, now or through a staged plan", params: model, body: promoteSchema, response: promoteResultSchema, status: [200, 202] },
  rollback: { method: "post", path: "/v1/models/{model}/rollback", access: "operator", summary: "Move an alias one step back in its history", params: model, body: rollbackSchema, response: rollbackResultSchema, status: 200 },
  putPromotionRule: { method: "put", path: "/v1/models/{model}/promotion-rule", access: "operator", summary: "Set the model's promotion rule", params: model, body: promotionRuleSchema, response: promotionRuleSchema, status: 200 },
  getPromotionRule: { method: "get", path: "/v1/models/{model}/promotion-rule", access: "viewer", summary: "Read the promotion rule (or the default)", params: model, response: promotionRuleViewSchema, status: 200 },
  listRollouts: { method: "get", path: "/v1/models/{model}/rollouts", access: "viewer", summary: "List staged rollouts, newest first", params: model, response: rolloutListSchema, status: 200 },
  evaluateRollout: { method: "post", path: "/v1/models/{model}/rollouts/evaluate", access: "operator", summary: "Judge the running rollout now and apply the decision", params: model, response: rolloutEvaluationSchema, status: 200 },
  cancelRollout: { method: "post", path: "/v1/models/{model}/rollouts/cancel", access: "operator", summary: "Cancel the running rollout, restoring the deployment", params: model, response: z.object({ status: z.literal("cancelled") }), status: 200 },

  metrics: { method: "get", path: "/v1/models/{model}/metrics", access: "viewer", summary: "Windowed counts, errors and latency per version and variant; with `step`, a time series", params: model, query: metricsQuerySchema, response: metricsReportSchema, status: 200 },
  drift: { method: "get", path: "/v1/models/{model}/drift", access: "viewer", summary: "Drift per feature and for the prediction against each version's reference (PSI, JS, KS / chi-square)", params: model, query: driftQuerySchema, response: driftReportSchema, status: 200 },
  putDriftThresholds: { method: "put", path: "/v1/models/{model}/drift-thresholds", access: "operator", summary: "Set the model's drift thresholds (any subset over the defaults)", params: model, body: driftThresholdsSchema, response: driftThresholdsViewSchema, status: 200 },
  getDriftThresholds: { method: "get", path: "/v1/models/{model}/drift-thresholds", access: "viewer", summary: "The model's drift thresholds", params: model, response: driftThresholdsViewSchema, status: 200 },
  experiment: { method: "get", path: "/v1/models/{model}/experiment", access: "viewer", summary: "Experiment report: per-variant traffic, errors, latency and labelled quality; SRM; mSPRT; sample size", params: model, query: experimentQuerySchema, response: experimentReportSchema, status: 200 },
  logs: { method: "get", path: "/v1/models/{model}/logs", access: "viewer", summary: "Records as served, from the log lake, as NDJSON (a page of `limit`; the `x-verge-next-cursor` header continues it); `labels=include|only` joins each prediction's feedback label", params: model, query: logsQuerySchema, status: 200, produces: "text" },
  putLogSettings: { method: "put", path: "/v1/models/{model}/log-settings", access: "operator", summary: "Set the model's log redaction list (drop or hash features before anything is stored), lake retention and rollup sub-shards", params: model, body: logSettingsSchema, response: logSettingsViewSchema, status: 200 },
  getLogSettings: { method: "get", path: "/v1/models/{model}/log-settings", access: "viewer", summary: "The model's log settings, defaults filled in", params: model, response: logSettingsViewSchema, status: 200 },

  createKey: { method: "post", path: "/v1/keys", access: "admin", summary: "Create a client key (shown once)", body: createKeySchema, response: createdKeySchema, status: 201 },
  listKeys: { method: "get", path: "/v1/keys", access: "admin", summary: "List client keys", response: keyListSchema, status: 200 },
  revokeKey: { method: "delete", path: "/v1/keys/{id}", access: "admin", summary: "Revoke a client key", params: idParamSchema, status: 204, produces: "none" },
  createToken: { method: "post", path: "/v1/tokens", access: "admin", summary: "Create an admin-API token with a role (shown once)", body: createTokenSchema, response: createdTokenSchema, status: 201 },
  listTokens: { method: "get", path: "/v1/tokens", access: "admin", summary: "List tokens", response: tokenListSchema, status: 200 },
  revokeToken: { method: "delete", path: "/v1/tokens/{id}", access: "admin", summary: "Revoke a token", params: idParamSchema, status: 204, produces: "none" },

  audit: { method: "get", path: "/v1/audit", access: "viewer", summary: "The audit log, newest first", query: auditQuerySchema, response: auditPageSchema, status: 200 },
  listAlerts: { method: "get", path: "/v1/alerts", access: "viewer", summary: "Alerts (drift, guardrails, sample-ratio mismatch, concept drift), newest first", query: alertQuerySchema, response: alertListSchema, status: 200 },
  ackAlert: { method: "post", path: "/v1/alerts/{id}/ack", access: "operator", summary: "Acknowledge an open alert", params: alertIdParamSchema, response: alertAckSchema, status: 200 },
  createWebhook: { method: "post", path: "/v1/webhooks", access: "admin", summary: "Register a webhook for alerts (its signing secret is shown once); it receives `alertEventSchema` bodies", body: createWebhookSchema, response: createdWebhookSchema, status: 201 },
  listWebhooks: { method: "get", path: "/v1/webhooks", access: "admin", summary: "List webhooks", response: webhookListSchema, status: 200 },
  webhookDeliveries: { method: "get", path: "/v1/webhooks/{id}/deliveries", access: "admin", summary: "A webhook's deliveries, newest first: status (pending, delivered, failed once the attempts run out), attempts, next attempt, last error", params: idParamSchema, response: webhookDeliveriesSchema, status: 200 },
  revokeWebhook: { method: "delete", path: "/v1/webhooks/{id}", access: "admin", summary: "Revoke a webhook", params: idParamSchema, status: 204, produces: "none" },

  listSchedules: { method: "get", path: "/v1/schedules", access: "viewer", summary: "List schedules with their next and last runs", response: scheduleListSchema, status: 200 },
  // Before getSchedule: a call by path to /v1/schedules/_work matches this one first.
  scheduleWork: { method: "get", path: "/v1/schedules/_work", access: "operator", summary: "For trainers: every schedule and the open runs, with the control plane's clock", response: scheduleWorkSchema, status: 200 },
  putSchedule: { method: "put", path: "/v1/schedules/{id}", access: "operator", summary: "Create (201) or replace (200) a schedule: a cron (5 or 6 fields) in a time zone, a task (train, materialize, batch_predictions), an optional data trigger, retries", params: scheduleParamSchema, body: putScheduleSchema, response: scheduleViewSchema, status: [200, 201] },
  getSchedule: { method: "get", path: "/v1/schedules/{id}", access: "viewer", summary: "Read a schedule", params: scheduleParamSchema, response: scheduleViewSchema, status: 200 },
  deleteSchedule: { method: "delete", path: "/v1/schedules/{id}", access: "operator", summary: "Delete a schedule and its run history", params: scheduleParamSchema, status: 204, produces: "none" },
  pauseSchedule: { method: "post", path: "/v1/schedules/{id}/pause", access: "operator", summary: "Pause: no new cron occurrences until resumed", params: scheduleParamSchema, response: scheduleViewSchema, status: 200 },
  resumeSchedule: { method: "post", path: "/v1/schedules/{id}/resume", access: "operator", summary: "Resume from now (occurrences missed while paused are not run)", params: scheduleParamSchema, response: scheduleViewSchema, status: 200 },
  runSchedule: { method: "post", path: "/v1/schedules/{id}/run", access: "operator", summary: "Run now: a pending run the next trainer claims (a data trigger does not hold it back)", params: scheduleParamSchema, response: scheduleRunViewSchema, status: 202 },
  scheduleRuns: { method: "get", path: "/v1/schedules/{id}/runs", access: "viewer", summary: "Run history, newest first: status, attempts, result or error", params: scheduleParamSchema, query: runsQuerySchema, response: scheduleRunListSchema, status: 200 },
  claimScheduleRun: { method: "post", path: "/v1/schedules/{id}/runs/{at}/claim", access: "operator", summary: "For trainers: claim an occurrence (at: epoch ms) or the next attempt of an open run; 409 when taken", params: scheduleRunParamSchema, body: claimRunSchema, response: scheduleRunViewSchema, status: 201 },
  reportScheduleRun: { method: "post", path: "/v1/schedules/{id}/runs/{at}/report", access: "operator", summary: "For trainers: heartbeat (extends the lease) or the run's outcome; 409 when the lease was lost", params: scheduleRunParamSchema, body: reportRunSchema, response: scheduleRunViewSchema, status: 200 },

  listDeadLetters: { method: "get", path: "/v1/dead-letters", access: "viewer", summary: "Dead batches of the log and feedback consumers, newest first, with the pipeline's counters (spilled records)", query: deadLettersQuerySchema, response: deadLettersResponseSchema, status: 200 },
  getDeadLetter: { method: "get", path: "/v1/dead-letters/{id}", access: "operator", summary: "One dead batch with its messages", params: deadLetterIdParamSchema, response: deadLetterWithBodiesSchema, status: 200 },
  redriveDeadLetter: { method: "post", path: "/v1/dead-letters/{id}/redrive", access: "operator", summary: "Send a dead batch back to its queue (safe to repeat: records and labels count once)", params: deadLetterIdParamSchema, response: redriveResponseSchema, status: 200 },
  monitoringMigration: { method: "post", path: "/v1/admin/monitoring-migration", access: "admin", summary: "One-time move of monitoring data from D1 into the rollup shards, a chunk per call (`npm run migrate:monitoring`)", body: monitoringMigrationSchema, response: monitoringMigrationResultSchema, status: 200 },

  snapshot: { method: "get", path: "/v1/snapshot", access: "gateway", summary: "The routing snapshot for gateways (ETag / If-None-Match → 304)", headers: ["if-none-match"], response: snapshotSchema, status: [200, 304] },
});
export type ControlPlaneApi = typeof controlPlaneApi;
