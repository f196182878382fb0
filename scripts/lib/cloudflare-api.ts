// The one stand-in for Cloudflare itself: its REST API cannot be reached from a laptop or CI, so
// the local stack answers the few Workers KV calls the trainer makes (bulk write, bulk read) on
// the gateway's own KV namespaces in workerd. The trainer talks to it through the official
// `cloudflare` package with only its base URL changed, so the request and response shapes are the
// package's, and what it writes is what the gateway reads.
import type { Json, V4MiniflareOptions } from "miniflare";
import type { WorkerConfig } from "./wrangler-config.ts";

type V4WorkerOptions = Extract<V4MiniflareOptions, { workers: unknown }>["workers"][number];

export const CLOUDFLARE_API_WORKER = "verge-local-cloudflare-api";

/** The base URL to give the `cloudflare` client (`baseURL`) for a stack serving the API on `port`. */
export const localCloudflareApiUrl = (port: number) => `http://127.0.0.1:${port}/client/v4`;

// Kept as plain JavaScript so it runs in workerd without a build step; the envelope and status
// codes follow Cloudflare's API (`{success, errors, messages, result}`).
const SCRIPT = `
const json = (status, result, errors = []) => new Response(JSON.stringify({ success: status < 300, errors, messages: [], result }), { status, headers: { "content-type": "application/json" } });
const fail = (status, code, message) => json(status, null, [{ code, message }]);
export default {
  async fetch(request, env) {
    if (request.headers.get("authorization") !== "Bearer " + env.API_TOKEN) return fail(403, 10000, "Authentication error");
    const m = new URL(request.url).pathname.match(/^\\/client\\/v4\\/accounts\\/([^/]+)\\/storage\\/kv\\/namespaces\\/([^/]+)\\/bulk(\\/get)?$/);
    if (!m) return fail(404, 7003, "Could not route to " + new URL(request.url).pathname);
    const binding = env.NAMESPACES[decodeURIComponent(m[2])];
    if (!binding) return fail(404, 10013, "namespace not found");
    const kv = env[binding];
    let body;
    try { body = await request.json(); } catch { return fail(400, 10026, "could not parse request body"); }
    if (m[3] && request.method === "POST") {
      if (!Array.isArray(body.keys) || body.keys.length > 100) return fail(400, 10026, "keys: at most 100 keys");
      const found = await kv.get(body.keys, body.type === "json" ? "json" : "text");
      return json(200, { values: Object.fromEntries(body.keys.map((k) => [k, found.get(k) ?? null])) });
    }
    if (!m[3] && request.method === "PUT") {
      if (!Array.isArray(body) || body.length > 10000) return fail(400, 10026, "body: an array of at most 10000 pairs");
      await Promise.all(body.map((p) => kv.put(p.key, p.base64 ? Uint8Array.from(atob(p.value), (c) => c.charCodeAt(0)) : p.value, p.expiration_ttl ? { expirationTtl: p.expiration_ttl } : {})));
      return json(200, { successful_key_count: body.length, unsuccessful_keys: [] });
    }
    return fail(405, 10000, "method not allowed");
  },
};`;

/** A worker bound to every KV namespace of `gateway`, keyed by the namespace id in its wrangler.toml. */
export function cloudflareApiWorker(gateway: WorkerConfig, o: { port: number; token: string }): V4WorkerOptions {
  const namespaces = (gateway.kv_namespaces ?? []).map((k, i) => ({ id: k.id ?? k.binding, binding: `KV_${i}` }));
  return {
    name: CLOUDFLARE_API_WORKER,
    modules: true,
    script: SCRIPT,
    compatibilityDate: gateway.compatibility_date,
    bindings: { API_TOKEN: o.token, NAMESPACES: Object.fromEntries(namespaces.map((n) => [n.id, n.binding])) as Json },
    kvNamespaces: Object.fromEntries(namespaces.map((n) => [n.binding, n.id])),
    unsafeDirectSockets: [{ host: "127.0.0.1", port: o.port }],
  };
}
