// The OpenAPI document, generated from the same zod schemas that validate the requests, and a
// plain reference page built from it.
import { z } from "zod";
import { createKeySchema, deadLettersQuerySchema, driftThresholdsSchema, createModelSchema, logSettingsSchema, logsQuerySchema, promotionRuleSchema, putAliasSchema, putDeploymentSchema, versionMetadataSchema } from "@verge/shared";
import { alertQuery, createWebhookSchema } from "./alerts/routes.ts";
import { auditQuery } from "./audit/routes.ts";
import { createTokenSchema } from "./keys/tokens.ts";
import { promoteSchema, rollbackSchema } from "./registry/promote.ts";
import { driftQuery } from "./rollups/drift.ts";
import { experimentQuery } from "./rollups/experiment.ts";
import { monitoringMigrationSchema } from "./rollups/legacy.ts";
import { metricsQuery } from "./rollups/routes.ts";

type Role = "viewer" | "operator" | "admin" | "gateway";

export interface RouteDoc {
  method: "get" | "post" | "put" | "delete";
  path: string;
  role: Role;
  summary: string;
  body?: z.ZodType;
  multipart?: boolean;
  query?: z.ZodObject;
}

export const ROUTES: RouteDoc[] = [
  { method: "post", path: "/v1/models", role: "operator", summary: "Create a model", body: createModelSchema },
  { method: "get", path: "/v1/models", role: "viewer", summary: "List models" },
  { method: "get", path: "/v1/models/{model}", role: "viewer", summary: "Read a model" },
  { method: "post", path: "/v1/models/{model}/versions", role: "operator", summary: "Upload a version: multipart `artifact` (ONNX) and `metadata` (JSON)", body: versionMetadataSchema, multipart: true },
  { method: "get", path: "/v1/models/{model}/versions", role: "viewer", summary: "List versions, newest first" },
  { method: "get", path: "/v1/models/{model}/versions/{version}", role: "viewer", summary: "Read a version with its lineage" },
  { method: "get", path: "/v1/models/{model}/versions/{version}/artifact", role: "viewer", summary: "Download a version's ONNX artifact (x-verge-sha256 header)" },
  { method: "put", path: "/v1/models/{model}/aliases/{alias}", role: "operator", summary: "Point an alias at a version (If-Match: the version it points to now)", body: putAliasSchema },
  { method: "get", path: "/v1/models/{model}/aliases", role: "viewer", summary: "List aliases" },
  { method: "get", path: "/v1/models/{model}/aliases/{alias}/history", role: "viewer", summary: "Every move of an alias: who, when, from, to, why" },
  { method: "put", path: "/v1/models/{model}/deployment", role: "operator", summary: "Set weighted variants, shadows and fallback (If-Match: revision)", body: putDeploymentSchema },
  { method: "get", path: "/v1/models/{model}/deployment", role: "viewer", summary: "Read the deployment and its bucket allocation" },
  { method: "post", path: "/v1/models/{model}/promote", role: "operator", summary: "Promote a version to an alias, now or through a staged plan", body: promoteSchema },
  { method: "post", path: "/v1/models/{model}/rollback", role: "operator", summary: "Move an alias one step back in its history", body: rollbackSchema },
  { method: "put", path: "/v1/models/{model}/promotion-rule", role: "operator", summary: "Set the model's promotion rule", body: promotionRuleSchema },
  { method: "get", path: "/v1/models/{model}/promotion-rule", role: "viewer", summary: "Read the promotion rule (or the default)" },
  { method: "get", path: "/v1/models/{model}/rollouts", role: "viewer", summary: "List staged rollouts" },
  { method: "post", path: "/v1/models/{model}/rollouts/evaluate", role: "operator", summary: "Judge the running rollout now and apply the decision" },
  { method: "post", path: "/v1/models/{model}/rollouts/cancel", role: "operator", summary: "Cancel the running rollout, restoring the deployment" },
  { method: "get", path: "/v1/models/{model}/metrics", role: "viewer", summary: "Windowed counts, errors and latency per version and variant; with `step`, a time series", query: metricsQuery },
  { method: "get", path: "/v1/models/{model}/drift", role: "viewer", summary: "Drift per feature and for the prediction against each version's reference (PSI, JS, KS / chi-square)", query: driftQuery },
  { method: "put", path: "/v1/models/{model}/drift-thresholds", role: "operator", summary: "Set the model's drift thresholds (any subset over the defaults)", body: driftThresholdsSchema },
  { method: "get", path: "/v1/models/{model}/drift-thresholds", role: "viewer", summary: "The model's drift thresholds" },
  { method: "get", path: "/v1/models/{model}/experiment", role: "viewer", summary: "Experiment report: per-variant traffic, errors, latency and labelled quality; SRM; mSPRT; sample size", query: experimentQuery },
  { method: "get", path: "/v1/models/{model}/logs", role: "viewer", summary: "Records as served, from the log lake, as NDJSON (a page of `limit`; `x-verge-next-cursor` continues); `labels=include|only` joins feedback", query: logsQuerySchema },
  { method: "put", path: "/v1/models/{model}/log-settings", role: "operator", summary: "Set the model's log redaction list (drop or hash features), lake retention and rollup sub-shards", body: logSettingsSchema },
  { method: "get", path: "/v1/models/{model}/log-settings", role: "viewer", summary: "The model's log settings" },
  { method: "post", path: "/v1/keys", role: "admin", summary: "Create a client key (shown once)", body: createKeySchema },
  { method: "get", path: "/v1/keys", role: "admin", summary: "List client keys" },
  { method: "delete", path: "/v1/keys/{id}", role: "admin", summary: "Revoke a client key" },
  { method: "post", path: "/v1/tokens", role: "admin", summary: "Create an admin-API token with a role (shown once)", body: createTokenSchema },
  { method: "get", path: "/v1/tokens", role: "admin", summary: "List tokens" },
  { method: "delete", path: "/v1/tokens/{id}", role: "admin", summary: "Revoke a token" },
  { method: "get", path: "/v1/audit", role: "viewer", summary: "The audit log, newest first", query: auditQuery },
  { method: "get", path: "/v1/alerts", role: "viewer", summary: "Alerts (drift, guardrails, sample-ratio mismatch), newest first", query: alertQuery },
  { method: "post", path: "/v1/alerts/{id}/ack", role: "operator", summary: "Acknowledge an open alert" },
  { method: "post", path: "/v1/webhooks", role: "admin", summary: "Register a webhook for alerts (its signing secret is shown once)", body: createWebhookSchema },
  { method: "get", path: "/v1/webhooks", role: "admin", summary: "List webhooks" },
  { method: "delete", path: "/v1/webhooks/{id}", role: "admin", summary: "Revoke a webhook" },
  { method: "get", path: "/v1/snapshot", role: "gateway", summary: "The routing snapshot for gateways (ETag / If-None-Match)" },
  { method: "get", path: "/v1/dead-letters", role: "viewer", summary: "Dead batches of the log and feedback consumers, newest first, with the pipeline's counters (spilled records)", query: deadLettersQuerySchema },
  { method: "get", path: "/v1/dead-letters/{id}", role: "operator", summary: "One dead batch with its messages" },
  { method: "post", path: "/v1/dead-letters/{id}/redrive", role: "operator", summary: "Send a dead batch back to its queue (safe to repeat: records and labels count once)" },
  { method: "post", path: "/v1/admin/monitoring-migration", role: "admin", summary: "One-time move of monitoring data from D1 into the rollup shards, a chunk per call (`npm run migrate:monitoring`)", body: monitoringMigrationSchema },
];

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, details: {} } } },
};

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const query = r.query
      ? Object.entries((z.toJSONSchema(r.query, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, unknown> }).properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: false, schema }))
      : [];
    const body = r.body ? z.toJSONSchema(r.body, { io: "input", unrepresentable: "any" }) : undefined;
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      description: `Requires the ${r.role} role${r.role === "gateway" ? " (the gateway token)" : " or higher"}.`,
      security: [{ bearer: [] }],
      parameters: [...params, ...query],
      ...(body
        ? {
            requestBody: {
              required: true,
              content: r.multipart
                ? { "multipart/form-data": { schema: { type: "object", required: ["artifact", "metadata"], properties: { artifact: { type: "string", format: "binary" }, metadata: body } } } }
                : { "application/json": { schema: body } },
            },
          }
        : {}),
      responses: {
        "2XX": { description: "Success" },
        "4XX": { description: "Bad input, auth, not found or conflict", content: { "application/json": { schema: errorSchema } } },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Verge control plane", version: "1" },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}

export function referencePage(): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = ROUTES.map((r) => {
    const schema = r.body ? `<details><summary>body</summary><pre>${esc(JSON.stringify(z.toJSONSchema(r.body, { io: "input", unrepresentable: "any" }), null, 2))}</pre></details>` : "";
    return `<tr><td><code>${r.method.toUpperCase()}</code></td><td><code>${esc(r.path)}</code></td><td>${r.role}</td><td>${esc(r.summary)}${schema}</td></tr>`;
  }).join("\n");
  return `<!doctype html><meta charset="utf-8"><title>Verge control plane API</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}td{vertical-align:top;padding:.3rem .6rem;border-bottom:1px solid #ddd}pre{font-size:12px;background:#f6f6f6;padding:.5rem}</style>
<h1>Verge control plane API</h1>
<p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>. Errors: <code>{"error":{"code","message","details?"}}</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<table><tr><th>method</th><th>path</th><th>role</th><th>what</th></tr>
${rows}
</table>`;
}
