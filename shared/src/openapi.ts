// OpenAPI from the endpoint contracts, with hono-openapi: each route carries its contract as a
// middleware, the validators document the schemas they check, and `openApiDocument` walks the
// app's own routes, so the document can only describe what is served.
import type { Env, Hono, MiddlewareHandler } from "hono";
import { generateSpecs, resolver, uniqueSymbol } from "hono-openapi";
import type { z } from "zod";
import type { Access, Endpoint } from "./api/endpoint.ts";
import { errorBodySchema } from "./errors.ts";
import { oipErrorSchema } from "./schemas/oip.ts";

const ACCESS_TEXT: Record<Access, string> = {
  viewer: "Requires the viewer role or higher.",
  operator: "Requires the operator role or higher.",
  admin: "Requires the admin role.",
  gateway: "Gateways only (the gateway token).",
  client: "A client key: `Authorization: Bearer <key>` or `x-verge-key`.",
  signed: "HMAC-SHA256 signed. Origin routes (/v2, /metrics): x-verge-timestamp, x-verge-nonce and x-verge-signature over method, host, path, timestamp, nonce and the body's sha256, each nonce accepted once inside the 30 s window. Webhooks: x-verge-timestamp and x-verge-signature over method, path, timestamp and body.",
  public: "No authentication.",
};

const SECURITY: Partial<Record<Access, string>> = { viewer: "bearer", operator: "bearer", admin: "bearer", gateway: "bearer", client: "bearer", signed: "signature" };

/** Documents a request schema (a validator's target) the way hono-openapi's own validator does. */
export function documentRequest<M extends object>(middleware: M, target: "json" | "query" | "param" | "header" | "form", schema: z.ZodType): M {
  return Object.assign(middleware, { [uniqueSymbol]: { target, ...resolver(schema, { options: { io: "input" } }) } });
}

/** The OpenAPI operation of an endpoint contract: summary, access, responses, and what validators cannot say. */
export function operationOf(e: Endpoint & { id: string }) {
  const json = (schema: z.ZodType, io: "input" | "output") => ({ "application/json": { schema: resolver(schema, { options: { io } }) } });
  const statuses = Array.isArray(e.status) ? e.status : [e.status as number];
  const produced = e.produces ?? "json";
  const responses: Record<string, unknown> = {};
  for (const status of statuses) {
    const description = status === 204 ? "No content" : status === 304 ? "Not modified" : status === 202 ? "Accepted" : status === 201 ? "Created" : "OK";
    if (status === 204 || status === 304 || produced === "none") responses[status] = { description };
    else if (produced === "binary") responses[status] = { description, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } };
    else if (produced === "sse") responses[status] = { description, content: { "text/event-stream": { schema: { type: "string" } } } };
    else if (produced === "text") responses[status] = { description, content: { "text/plain": { schema: { type: "string" } } } };
    else responses[status] = { description, ...(e.response ? { content: json(e.response, "output") } : {}) };
  }
  const oip = e.path === "/v2" || e.path.startsWith("/v2/");
  responses["4XX"] = { description: "Bad input, authentication, not found or conflict", content: json(oip ? oipErrorSchema : errorBodySchema, "output") };
  responses["5XX"] = { description: "Unavailable or internal", content: json(oip ? oipErrorSchema : errorBodySchema, "output") };
  const scheme = SECURITY[e.access];
  return {
    operationId: e.id,
    summary: e.summary,
    description: ACCESS_TEXT[e.access],
    tags: [tagOf(e.path)],
    "x-verge-access": e.access,
    ...(scheme ? { security: [{ [scheme]: [] }] } : { security: [] }),
    ...(e.headers?.length ? { parameters: e.headers.map((name) => ({ name, in: "header", required: false, schema: { type: "string" } })) } : {}),
    ...(e.multipart && e.body
      ? {
          requestBody: {
            required: true,
            content: { "multipart/form-data": { schema: { type: "object", required: ["artifact", "metadata"], properties: { artifact: { type: "string", format: "binary" }, metadata: { type: "string", contentMediaType: "application/json", description: "JSON: see the schema below" } } } }, "application/json": { schema: resolver(e.body, { options: { io: "input" } }) } },
          },
        }
      : {}),
    responses,
  };
}

/** Attaches an endpoint's documentation to a middleware (a guard, say), leaving what it does alone. */
export function documented<M extends object>(middleware: M, e: Endpoint & { id: string }): M {
  return Object.assign(middleware, { [uniqueSymbol]: { spec: operationOf(e) } });
}

/**
 * A middleware that only documents a route with its endpoint contract.
 *
 * @example
 * app.get("/v2/health/live", describe(gatewayApi.live), (c) => c.json({ live: true }))
 */
export function describe(e: Endpoint & { id: string }): MiddlewareHandler {
  return documented(async (_c, next) => {
    await next();
  }, e);
}

const TAGS: Record<string, string> = { promote: "promotion", rollback: "promotion", "promotion-rule": "promotion", rollouts: "promotion", metrics: "monitoring", drift: "monitoring", "drift-thresholds": "monitoring", experiment: "monitoring", alerts: "monitoring", webhooks: "monitoring", deployment: "deployments" };

/** Groups operations by what they are about: models, versions, aliases, promotion, monitoring… */
function tagOf(path: string): string {
  if (path === "/v2" || path.startsWith("/v2/")) return "open inference protocol";
  const parts = path.split("/").filter((p) => p && p !== "v1" && !p.startsWith("{"));
  const topic = parts[1] ?? parts[0] ?? "other";
  return TAGS[topic] ?? topic;
}

/** The OpenAPI document of an app, from the contracts and validators on its routes. */
export function openApiDocument<E extends Env>(app: Hono<E>, info: { title: string; version?: string; description?: string }) {
  return generateSpecs(app, {
    documentation: {
      info: { title: info.title, version: info.version ?? "1", ...(info.description ? { description: info.description } : {}) },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
          signature: { type: "apiKey", in: "header", name: "x-verge-signature" },
        },
      },
    },
    defaultValidationErrorResponse: false,
  });
}

type Operation = { summary?: string; description?: string; "x-verge-access"?: string; parameters?: { name: string; in: string; required?: boolean }[]; requestBody?: { content?: Record<string, { schema?: unknown }> }; responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }> };

/** A self-contained reference page (no scripts, no CDN) rendered from an OpenAPI document. */
export function referencePage(doc: { info: { title?: string }; paths?: object }): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const block = (label: string, schema: unknown) => (schema ? `<details><summary>${esc(label)}</summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>` : "");
  const rows: string[] = [];
  for (const [path, ops] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation> | undefined>)) {
    for (const [method, op] of Object.entries(ops ?? {})) {
      const params = (op.parameters ?? []).map((p) => `<code>${esc(p.in)}:${esc(p.name)}${p.required ? "" : "?"}</code>`).join(" ");
      const body = Object.entries(op.requestBody?.content ?? {}).map(([type, c]) => block(`body (${type})`, c.schema)).join("");
      const responses = Object.entries(op.responses ?? {}).map(([status, r]) => block(`${status} ${r.description ?? ""}`, Object.values(r.content ?? {})[0]?.schema ?? null) || `<div>${esc(status)} ${esc(r.description ?? "")}</div>`).join("");
      rows.push(`<tr><td><code>${method.toUpperCase()}</code></td><td><code>${esc(path)}</code></td><td>${esc(op["x-verge-access"] ?? "")}</td><td>${esc(op.summary ?? "")}<div class="d">${esc(op.description ?? "")}</div>${params}${body}${responses}</td></tr>`);
    }
  }
  const title = esc(doc.info.title ?? "API");
  return `<!doctype html><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:80rem}td{vertical-align:top;padding:.3rem .6rem;border-bottom:1px solid #ddd}pre{font-size:12px;background:#f6f6f6;padding:.5rem;overflow:auto}.d{color:#666;font-size:12px}summary{cursor:pointer;color:#245}</style>
<h1>${title}</h1>
<p>Errors: <code>{"error":{"code","message","details?"}}</code> (Open Inference Protocol routes: <code>{"error":"message","code"}</code>). Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<table><tr><th>method</th><th>path</th><th>access</th><th>what</th></tr>
${rows.join("\n")}
</table>`;
}
